package report

import (
	"fmt"
	"strings"

	"github.com/hookrig/hookrig/sim/verdict"
)

// The diagnosis, in words every format shares: what was tested, the
// findings, the endpoint's answers and the run checks that failed.

// targetLine names what was tested, e.g. "your endpoint
// http://127.0.0.1:3999/hook · hookrig's sender, attempt timeout 15 s";
// "" when the result does not say (one saved before targets were
// recorded).
func targetLine(t verdict.Target) string {
	if t.Receiver == "" && t.Sender == "" {
		return ""
	}
	parts := []string{"hookrig's receiver"}
	if !t.IsReference() {
		parts[0] = "your endpoint " + t.Receiver
	}
	if t.Receipts != "" {
		parts = append(parts, "its receipts from "+t.Receipts)
	}
	snd := "hookrig's sender"
	if t.Sender == verdict.TriggerSender {
		snd = "your sender (a trigger)"
	}
	if t.AttemptTimeoutS > 0 {
		snd += ", attempt timeout " + fmtS(t.AttemptTimeoutS)
	}
	parts = append(parts, snd)
	if t.Proxy != "" {
		parts = append(parts, "chaos proxy on "+t.Proxy)
	}
	return strings.Join(parts, " · ")
}

// findingText is the findings as one paragraph.
func findingText(r *verdict.Result) string { return strings.Join(r.Findings, " ") }

// causesText lists the endpoint's failures: "500 ×12 · refused ×3".
func causesText(e verdict.Endpoint) string {
	parts := make([]string, 0, len(e.Failures))
	for _, c := range e.Failures {
		parts = append(parts, fmt.Sprintf("%s ×%d", c.Cause, c.Count))
	}
	return strings.Join(parts, " · ")
}

// responseText summarises the endpoint's answer times.
func responseText(e verdict.Endpoint) string {
	d := e.Response
	return fmt.Sprintf("p50 %s · p90 %s · p99 %s · max %s", fmtMs(d.P50), fmtMs(d.P90), fmtMs(d.P99), fmtMs(d.Max))
}

// wrap breaks s into lines of at most width columns, each after indent.
// A number and its unit ("15 s", "2.0 ms") stay on one line.
func wrap(s, indent string, width int) string {
	var words []string
	for _, w := range strings.Fields(s) {
		if n := len(words); n > 0 && isUnit(w) && strings.IndexAny(words[n-1][len(words[n-1])-1:], "0123456789") == 0 {
			words[n-1] += " " + w
			continue
		}
		words = append(words, w)
	}
	var b strings.Builder
	line := 0
	for i, w := range words {
		if i > 0 && line+1+len(w) > width {
			b.WriteString("\n")
			line = 0
		}
		if line == 0 {
			b.WriteString(indent + w)
			line = len(indent) + len(w)
			continue
		}
		b.WriteString(" " + w)
		line += 1 + len(w)
	}
	return b.String()
}

// isUnit says whether wrap keeps w with the number before it.
func isUnit(w string) bool {
	switch strings.TrimRight(w, ":,.") {
	case "s", "ms", "µs", "min", "h":
		return true
	}
	return false
}

// endpointSection prints how the endpoint answered: two lines, and a
// third for the failures when there were any.
func (t *textReport) endpoint() {
	r := t.r
	e := r.Endpoint
	if e.Attempts == 0 && e.Response.Count == 0 {
		return
	}
	who := "the receiver"
	if !r.Target.IsReference() {
		who = "your endpoint"
	}
	t.section(fmt.Sprintf("How %s answered the %d %s it was sent (%d answered; injected faults aside)",
		who, e.Attempts, plural(e.Attempts, "request", "requests"), e.Answered))
	if e.Answered > 0 {
		t.printf("  time to answer: %s\n", responseText(e))
	}
	if len(e.Failures) > 0 {
		t.printf("  failed: %s\n", causesText(e))
	}
	for _, d := range e.Disables {
		t.printf("  %s\n", disableText(d))
	}
}

// disableText says when and why the sender switched the endpoint off.
func disableText(d verdict.DisableResult) string {
	return fmt.Sprintf("disabled by the sender at %s: %s", fmtS(d.AtS), d.Reason)
}

// runChecks prints the run checks that failed, under the assertions.
func (t *textReport) runChecks() {
	for _, c := range t.r.FailedRunChecks() {
		t.printf("  FAIL  %s (run check)\n", c.Expr)
		if c.Message != "" {
			t.printf("        %s\n", c.Message)
		}
	}
}
