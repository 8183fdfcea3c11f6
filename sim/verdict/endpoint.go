// The diagnosis: what was tested, how the receiving endpoint answered
// each attempt (its response times and its failures by cause), and the
// plain-language findings a report opens with when something is clearly
// wrong.

package verdict

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// ReferenceTarget names hookrig's own sender or receiver in a Target.
const ReferenceTarget = "reference"

// TriggerSender names the user's own sender, driven through a trigger.
const TriggerSender = "trigger"

// Target is what a run tested. It never holds a secret: the runner drops
// a URL's user info before filling it in.
type Target struct {
	// Receiver is "reference" or the URL of the user's endpoint.
	Receiver string `json:"receiver"`
	// Sender is "reference" or "trigger" (the user's sender).
	Sender string `json:"sender"`
	// Proxy is the chaos proxy's fixed address, when one was asked for.
	Proxy string `json:"proxy,omitempty"`
	// Receipts is where the user's endpoint's own journal was read.
	Receipts string `json:"receipts,omitempty"`
	// AttemptTimeoutS is the sender's per-attempt timeout, in seconds (0
	// when the sender is the user's and hookrig cannot know it).
	AttemptTimeoutS float64 `json:"attempt_timeout_s,omitempty"`
}

// IsReference says the receiving end was hookrig's reference receiver
// (or the run did not say).
func (t Target) IsReference() bool { return t.Receiver == "" || t.Receiver == ReferenceTarget }

// Endpoint is how the receiving endpoint answered the requests it was
// sent (Answer): what the chaos proxy forwarded, or in a run without
// answer records the attempts that met no injected fault. The faults
// injected in front of it are the scenario's doing, and the attempts the
// sender cut short when it stopped its own; neither counts here.
type Endpoint struct {
	// Attempts are the requests the endpoint was sent; Answered of them
	// got an HTTP answer (any status).
	Attempts int64 `json:"attempts"`
	Answered int64 `json:"answered"`
	// Response is the time to answer (from the request leaving to the
	// answer), over the answered attempts.
	Response LatencySummary `json:"response_ms"`
	// Failures are the attempts that failed, by cause, most first.
	Failures []CauseCount `json:"failures"`
	// Disables are the times the sender switched the endpoint off, in
	// time order. (Breaker openings are not in the records the checker
	// gets, so they are not here.)
	Disables []DisableResult `json:"disables"`
}

// DisableResult is one Disable: when, in seconds since the run started,
// and the sender's reason.
type DisableResult struct {
	AtS    float64 `json:"at_s"`
	Reason string  `json:"reason"`
}

func sortDisables(ds []DisableResult) {
	slices.SortFunc(ds, func(x, y DisableResult) int {
		return cmp.Or(cmp.Compare(x.AtS, y.AtS), strings.Compare(x.Reason, y.Reason))
	})
}

// CauseCount is how many of the endpoint's attempts failed one way.
// Cause is an HTTP status code ("500") or a transport word (refused,
// reset, timeout, tls, truncated, interrupted, other); Class groups them:
// "1xx", "3xx", "4xx", "5xx" or "transport".
type CauseCount struct {
	Cause string `json:"cause"`
	Class string `json:"class"`
	Count int64  `json:"count"`
}

// causeOf names an answer's failure; "" when it succeeded.
func causeOf(a Answer) (cause, class string) {
	if a.Err != "" {
		switch a.Err {
		case "eof":
			return "truncated", "transport"
		case "":
		default:
			return a.Err, "transport"
		}
	}
	switch {
	case is2xx(a.Status):
		return "", ""
	case a.Status == 0:
		return "other", "transport"
	}
	return strconv.Itoa(a.Status), strconv.Itoa(a.Status/100) + "xx"
}

// endpointTally accumulates the Endpoint section in a Checker.
type endpointTally struct {
	attempts, answered int64
	response           *hdrhistogram.Histogram
	minUs, maxUs       int64
	// causes counts the failures by cause, in the order first seen;
	// causeAt finds a failure's row by how it failed; last failed as the
	// failure counted in row lastAt (runs of failures fail alike).
	// Naming the cause (a status spelt out) and hashing the names for
	// each failed attempt was a good part of recording one.
	causes  []CauseCount
	causeAt map[failure]int
	last    failure
	lastAt  int
}

// failure is how an attempt failed: its transport error, or its status
// when it has none.
type failure struct {
	err    string
	status int
}

func (t *endpointTally) add(a Answer) {
	if t.response == nil {
		t.response = NewHistogram()
		t.causeAt = map[failure]int{}
	}
	t.attempts++
	if a.Err != "" || !is2xx(a.Status) {
		t.fail(a)
	}
	if a.Status == 0 {
		return
	}
	us := min(max(a.Duration.Microseconds(), 0), histHighest)
	_ = t.response.RecordValue(us)
	if t.answered == 0 || us < t.minUs {
		t.minUs = us
	}
	t.maxUs = max(t.maxUs, us)
	t.answered++
}

// fail counts a failed answer under its cause.
func (t *endpointTally) fail(a Answer) {
	f := failure{err: a.Err}
	if a.Err == "" {
		f.status = a.Status
	}
	if len(t.causes) > 0 && f == t.last {
		t.causes[t.lastAt].Count++
		return
	}
	i, ok := t.causeAt[f]
	if !ok {
		cause, class := causeOf(a)
		i = len(t.causes)
		t.causes = append(t.causes, CauseCount{Cause: cause, Class: class})
		t.causeAt[f] = i
	}
	t.causes[i].Count++
	t.last, t.lastAt = f, i
}

// section and the encoded response histogram.
func (t *endpointTally) section() (Endpoint, string) {
	h := t.response
	if h == nil {
		h = NewHistogram()
	}
	ep := Endpoint{Attempts: t.attempts, Answered: t.answered, Response: summarize(h, t.minUs, t.maxUs)}
	ep.Failures = slices.Clone(t.causes)
	sortCauses(ep.Failures)
	return ep, EncodeHistogram(h)
}

func sortCauses(cs []CauseCount) {
	slices.SortFunc(cs, func(x, y CauseCount) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), strings.Compare(x.Cause, y.Cause))
	})
}

// ResponseHistogram decodes the endpoint's response-time histogram (µs).
func (r *Result) ResponseHistogram() (*hdrhistogram.Histogram, error) {
	return DecodeHistogram(r.Histograms.ResponseUs)
}

// FailedCount is the endpoint's failed attempts, all causes together.
func (e Endpoint) FailedCount() int64 {
	var n int64
	for _, c := range e.Failures {
		n += c.Count
	}
	return n
}

// Thresholds of the findings: a share of attempts below findingShare is
// not called out, and answers slower than slowAnswer at the median are.
const (
	findingShare = 0.05
	slowAnswer   = time.Second
)

// Diagnose writes the findings: plain sentences, one per thing clearly
// wrong with the run, worst first; none for a healthy run. It reads only
// the Result, so a saved result is diagnosed the same way again.
func Diagnose(r *Result) []string {
	var out []string
	say := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	who := "your endpoint"
	if r.Target.IsReference() {
		who = "the receiver"
	}
	ep, ev := r.Endpoint, r.Events
	timeout := ""
	if r.Target.AttemptTimeoutS > 0 {
		timeout = fmtSeconds(r.Target.AttemptTimeoutS)
	}
	pendingSaid := false
	pendingShare := func() string { return sharePercent(ev.Pending, ev.Accepted) }
	switch {
	case ep.Attempts > 0 && ep.Answered == 0:
		out = append(out, noAnswer(who, ep, timeout))
	case ep.Answered > 0:
		if p50 := MsDuration(ep.Response.P50); p50 >= slowAnswer {
			s := fmt.Sprintf("answers took %.1f s at p50", p50.Seconds())
			if timeout != "" {
				s += " against an attempt timeout of " + timeout
			}
			if ev.Pending > 0 && ev.Accepted > 0 {
				s += fmt.Sprintf(": %s of events were still pending", pendingShare())
				pendingSaid = true
			}
			out = append(out, s)
		}
		for _, c := range ep.Failures {
			share := float64(c.Count) / float64(ep.Attempts)
			if share < findingShare {
				continue
			}
			out = append(out, oneIn(c, ep.Attempts, share, timeout))
		}
	}
	if len(r.Endpoint.Disables) > 0 {
		d := r.Endpoint.Disables[0]
		say("the sender disabled %s at %s s (%s)", who, strconv.FormatFloat(d.AtS, 'f', -1, 64), d.Reason)
	}
	if ev.Pending > 0 && ev.Accepted > 0 && !pendingSaid {
		say("%s of events (%d) were still pending when the drain ended", pendingShare(), ev.Pending)
	}
	if ev.Accepted > 0 && ev.Delivered == 0 {
		say("no event was delivered")
	}
	for i, s := range out {
		out[i] = strings.ToUpper(s[:1]) + s[1:] + "."
	}
	return out
}

// noAnswer is the finding for an endpoint that answered nothing.
func noAnswer(who string, ep Endpoint, timeout string) string {
	if len(ep.Failures) == 1 {
		n := ep.Attempts
		switch ep.Failures[0].Cause {
		case "refused":
			return fmt.Sprintf("%s refused every connection (%d %s)", who, n, plural(n, "attempt"))
		case "reset":
			return fmt.Sprintf("%s reset every connection (%d %s)", who, n, plural(n, "attempt"))
		case "timeout":
			if timeout != "" {
				return fmt.Sprintf("%s answered none of %d %s within the attempt timeout of %s", who, n, plural(n, "attempt"), timeout)
			}
			return fmt.Sprintf("every one of %d %s to %s timed out", n, plural(n, "attempt"), who)
		case "tls":
			return fmt.Sprintf("every TLS handshake with %s failed (%d %s)", who, n, plural(n, "attempt"))
		case "truncated":
			return fmt.Sprintf("%s closed every connection before a whole answer (%d %s)", who, n, plural(n, "attempt"))
		}
	}
	parts := make([]string, 0, len(ep.Failures))
	for _, c := range ep.Failures {
		parts = append(parts, fmt.Sprintf("%d %s", c.Count, c.Cause))
	}
	return fmt.Sprintf("%s answered none of %d attempts (%s)", who, ep.Attempts, strings.Join(parts, ", "))
}

// oneIn says how often one cause struck: "1 in 5 attempts was answered 500".
func oneIn(c CauseCount, total int64, share float64, timeout string) string {
	what := "was answered " + c.Cause
	whats := "were answered " + c.Cause
	if c.Class == "transport" {
		what, whats = transportWords(c.Cause, timeout)
	}
	switch {
	case c.Count == total:
		return fmt.Sprintf("every attempt %s", what)
	case share >= 0.5:
		return fmt.Sprintf("%s of attempts %s", sharePercent(c.Count, total), whats)
	}
	return fmt.Sprintf("1 in %d attempts %s", int64(1/share+0.5), what)
}

func transportWords(cause, timeout string) (one, many string) {
	switch cause {
	case "timeout":
		if timeout != "" {
			return "timed out (after " + timeout + ")", "timed out (after " + timeout + ")"
		}
		return "timed out", "timed out"
	case "refused":
		return "was refused", "were refused"
	case "reset":
		return "was reset", "were reset"
	case "truncated":
		return "got a truncated answer", "got a truncated answer"
	case "tls":
		return "failed its TLS handshake", "failed their TLS handshake"
	}
	return "failed (" + cause + ")", "failed (" + cause + ")"
}

func sharePercent(n, of int64) string {
	if of == 0 {
		return "0%"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(n)/float64(of))
}

// fmtSeconds prints a setting in seconds as written: "15 s", "0.5 s".
func fmtSeconds(s float64) string { return strconv.FormatFloat(s, 'f', -1, 64) + " s" }

func plural(n int64, one string) string {
	if n == 1 {
		return one
	}
	return one + "s"
}
