package loadgen

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hookrig/hookrig/internal/capture"
	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/reference/webhook"
)

// ReplayConfig describes the re-sending of captured requests.
//
// Replay does not use the open-loop runner: the runner writes one
// target's method, path and headers around bodies it renders with fresh
// ids, while a replay sends each request with its own path, headers and
// id. Replay is a bounded sender with the runner's measurements instead:
// every request has an intended send time (its arrival in the capture,
// scaled by Speed, or Rate's even spacing), latency is corrected from it,
// and the tally and Result are the runner's, so the report is bench's.
type ReplayConfig struct {
	Requests []*capture.Request
	// To is where the requests go. A URL with no path (or "/") keeps each
	// request's captured path and query; with a path, every request goes
	// to that path.
	To string
	// Speed divides the captured spacing (10: ten times faster). Default 1.
	Speed float64
	// Rate, when above 0, sends at this many per second, evenly, ignoring
	// the captured spacing.
	Rate float64
	// Signer, when set, re-signs every request per Standard Webhooks with
	// a fresh timestamp and the captured webhook-id (or a new one with
	// NewIDs). Without it requests go out exactly as captured.
	Signer *webhook.Signer
	// Scheme, when set instead of Signer, re-signs every request as that
	// scheme signs (stripe, github, ...) with a fresh timestamp where the
	// scheme has one.
	Scheme webhook.Scheme
	// IDFrom is where a re-signed request's captured id is read; none
	// means the scheme's own place (webhook-id for Signer). A request
	// where it finds no id is given a new one.
	IDFrom webhook.IDSource
	// NewIDs gives re-signed requests new ids: IDPrefix and the request's
	// number. Needs Signer or Scheme (a new id breaks the old signature),
	// and a scheme whose id is a header (a body is sent as captured).
	NewIDs   bool
	IDPrefix string
	// Concurrency bounds the requests in flight (default 64): a request
	// due while all are busy waits, and its wait counts in its latency.
	Concurrency int
	// Timeout bounds each request (default 10s).
	Timeout  time.Duration
	Insecure bool
	// Clock paces and times. Required.
	Clock clock.Clock
}

// ReplayResult is a replay's Result with what bench does not have: why
// requests were refused, and what could not be replayed.
type ReplayResult struct {
	*Result
	// Causes are the answers other than 2xx, grouped by status and the
	// reason the target gave (its error message), most frequent first.
	Causes []Cause
	// Skipped counts captured requests not re-sent: their body was not
	// captured whole (over the receiver's limit).
	Skipped int
}

// Cause is one kind of refusal: a status and the target's reason.
type Cause struct {
	Status int    `json:"status"`
	Reason string `json:"reason"`
	Count  uint64 `json:"count"`
}

// maxCauses bounds the distinct causes kept; the rest count as "other".
const maxCauses = 20

// maxReason is the longest reason kept, in bytes.
const maxReason = 200

// hopHeaders are not re-sent: the client sets them for its own
// connection, or they describe the original connection.
var hopHeaders = []string{"Connection", "Keep-Alive", "Transfer-Encoding", "Te", "Trailer", "Upgrade",
	"Proxy-Connection", "Proxy-Authorization", "Content-Length", "Host"}

// Replay re-sends cfg.Requests to cfg.To and measures the answers as
// bench does. Cancelling ctx stops it; the result then covers what ran.
func Replay(ctx context.Context, cfg ReplayConfig) (*ReplayResult, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	base, err := url.Parse(cfg.To)
	if err != nil {
		return nil, fmt.Errorf("replay: --to %q: %v", cfg.To, err)
	}
	keepPath := base.Path == "" || base.Path == "/"
	due := cfg.schedule()
	client := &http.Client{
		Timeout: cfg.Timeout,
		Transport: &http.Transport{
			MaxConnsPerHost: cfg.Concurrency, MaxIdleConnsPerHost: cfg.Concurrency,
			TLSClientConfig: &tls.Config{InsecureSkipVerify: cfg.Insecure},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer client.CloseIdleConnections()

	t := newTally()
	var (
		mu     sync.Mutex
		causes = map[Cause]uint64{}
		wg     sync.WaitGroup
		sent   uint64
	)
	slots := make(chan struct{}, cfg.Concurrency)
	res := &ReplayResult{}
	start := cfg.Clock.Now()
	interrupted := false
loop:
	for i, c := range cfg.Requests {
		if !c.Whole() {
			res.Skipped++
			continue
		}
		intended := start.Add(due[i])
		if !clock.SleepUntil(cfg.Clock, intended, ctx.Done()) {
			interrupted = true
			break
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			interrupted = true
			break loop
		}
		req, err := cfg.request(ctx, c, i, base, keepPath)
		if err != nil {
			<-slots
			return nil, err
		}
		sent++
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			s, cause := send(ctx, client, req, len(c.Body), intended, cfg.Clock)
			var b batch
			b.add(s, cfg.Clock.Now())
			t.merge(&b)
			if cause != nil {
				mu.Lock()
				if _, ok := causes[*cause]; ok || len(causes) < maxCauses {
					causes[*cause]++
				} else {
					causes[Cause{Status: cause.Status, Reason: "(other reasons)"}]++
				}
				mu.Unlock()
			}
		}()
	}
	window := cfg.Clock.Now().Sub(start)
	wg.Wait()
	end := cfg.Clock.Now()
	r := &Result{
		Mode: "open", Target: cfg.To, Pacer: cfg.describe(),
		Started: start, Duration: window, Elapsed: end.Sub(start),
		Requests: sent, Connections: cfg.Concurrency, Interrupted: interrupted,
	}
	t.fill(r)
	if n := len(due); n > 1 && due[n-1] > 0 {
		r.RateRequested = float64(n-1) / due[n-1].Seconds()
	}
	if window > 0 {
		r.RateAchieved = float64(sent) / window.Seconds()
	}
	res.Result = r
	for c, n := range causes {
		c.Count = n
		res.Causes = append(res.Causes, c)
	}
	slices.SortFunc(res.Causes, func(a, b Cause) int {
		if a.Count != b.Count {
			return int(b.Count) - int(a.Count)
		}
		return strings.Compare(fmt.Sprint(a.Status, a.Reason), fmt.Sprint(b.Status, b.Reason))
	})
	return res, nil
}

func (cfg *ReplayConfig) check() error {
	switch {
	case len(cfg.Requests) == 0:
		return errors.New("replay: no captured requests to send")
	case cfg.Clock == nil:
		return errors.New("replay: a clock is required")
	case cfg.Speed < 0 || cfg.Rate < 0:
		return fmt.Errorf("replay: speed %v and rate %v must not be negative", cfg.Speed, cfg.Rate)
	case cfg.NewIDs && cfg.Signer == nil && cfg.Scheme == nil:
		return errors.New("replay: new webhook-ids need a secret to re-sign with (a new id breaks the captured signature)")
	case cfg.Signer != nil && cfg.Scheme != nil:
		return errors.New("replay: re-sign with a Signer or a Scheme, not both")
	case !cfg.IDFrom.IsNone() && cfg.Signer == nil && cfg.Scheme == nil:
		return errors.New("replay: an id source applies to re-signed requests only: give a secret to re-sign with")
	}
	if cfg.NewIDs && cfg.Scheme != nil && cfg.Scheme.IDFrom().Header == "" {
		if own := cfg.Scheme.IDFrom(); own.IsNone() {
			return fmt.Errorf("replay: new ids with scheme %s: the scheme carries no event id, so there is nowhere to put one", cfg.Scheme.Name())
		}
		return fmt.Errorf("replay: new ids with scheme %s: its id is in the body (%s), which replay sends as captured; replay with the captured ids instead", cfg.Scheme.Name(), cfg.Scheme.IDFrom())
	}
	if !strings.HasPrefix(cfg.To, "http://") && !strings.HasPrefix(cfg.To, "https://") {
		return fmt.Errorf("replay: --to %q: want an http:// or https:// URL", cfg.To)
	}
	if cfg.Speed == 0 {
		cfg.Speed = 1
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 64
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.IDPrefix == "" {
		cfg.IDPrefix = "replay_"
	}
	return nil
}

// schedule is each request's send time from the start: its arrival after
// the first, divided by Speed, or i/Rate. Captures are in arrival order
// up to concurrent writes, so a time earlier than the one before is
// clamped to it: nothing is sent before an earlier request.
func (cfg *ReplayConfig) schedule() []time.Duration {
	out := make([]time.Duration, len(cfg.Requests))
	first := cfg.Requests[0].At
	for i, c := range cfg.Requests {
		if cfg.Rate > 0 {
			out[i] = time.Duration(float64(i) / cfg.Rate * float64(time.Second))
		} else {
			out[i] = time.Duration(float64(c.At.Sub(first)) / cfg.Speed)
		}
		if i > 0 && out[i] < out[i-1] {
			out[i] = out[i-1]
		}
	}
	return out
}

// describe names the pacing as a pacer would be named in bench's report.
func (cfg *ReplayConfig) describe() string {
	how := "as captured"
	switch {
	case cfg.Rate > 0:
		how = "constant:" + formatRate(cfg.Rate)
	case cfg.Speed != 1:
		how = "captured spacing ÷" + formatRate(cfg.Speed)
	}
	switch {
	case cfg.Scheme != nil:
		return "replay " + how + ", re-signed as " + cfg.Scheme.Name()
	case cfg.Signer != nil:
		return "replay " + how + ", re-signed"
	}
	return "replay " + how + ", unchanged"
}

// request builds the wire request of capture i.
func (cfg *ReplayConfig) request(ctx context.Context, c *capture.Request, i int, base *url.URL, keepPath bool) (*http.Request, error) {
	u := *base
	if keepPath {
		p, err := url.ParseRequestURI(c.Path)
		if err != nil {
			return nil, fmt.Errorf("replay: captured request %d: path %q: %v", i+1, c.Path, err)
		}
		u.Path, u.RawPath, u.RawQuery = p.Path, p.RawPath, p.RawQuery
	}
	req, err := http.NewRequestWithContext(ctx, c.Method, u.String(), bytes.NewReader(c.Body))
	if err != nil {
		return nil, fmt.Errorf("replay: captured request %d: %v", i+1, err)
	}
	req.Header = c.Header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	for _, h := range hopHeaders {
		req.Header.Del(h)
	}
	if cfg.Signer == nil && cfg.Scheme == nil {
		return req, nil
	}
	id := cfg.capturedID(req.Header, c.Body)
	if cfg.NewIDs || id == "" {
		id = cfg.IDPrefix + strconv.Itoa(i+1)
	}
	if cfg.Scheme != nil {
		cfg.Scheme.Sign(req.Header, id, cfg.Clock.Now(), c.Body)
	} else {
		cfg.Signer.SetHeaders(req.Header, id, cfg.Clock.Now(), c.Body)
	}
	return req, nil
}

// capturedID is the id a re-signed request keeps: read from IDFrom, else
// from the scheme's own place; "" when it is not there.
func (cfg *ReplayConfig) capturedID(h http.Header, body []byte) string {
	src := cfg.IDFrom
	switch {
	case !src.IsNone():
	case cfg.Scheme != nil:
		src = cfg.Scheme.IDFrom()
	default:
		src = webhook.IDInHeader(webhook.HeaderID)
	}
	if src.IsNone() {
		return ""
	}
	id, err := src.Extract(h, body)
	if err != nil {
		return ""
	}
	return id
}

// send makes one request and measures it; a non-2xx answer comes back
// with its cause.
func send(ctx context.Context, client *http.Client, req *http.Request, size int, intended time.Time, clk clock.Clock) (sample, *Cause) {
	began := clk.Now()
	resp, err := client.Do(req)
	s := sample{sent: int64(size), lag: max(int64(began.Sub(intended)), 0)}
	var cause *Cause
	if err == nil {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		s.status, s.recv = uint16(min(resp.StatusCode, 599)), int64(len(body))
		if resp.StatusCode/100 != 2 {
			cause = &Cause{Status: resp.StatusCode, Reason: reasonOf(body)}
		}
	} else {
		s.err = classify(err, ctx.Err() != nil)
	}
	end := clk.Now()
	s.corrected, s.uncorrected = int64(end.Sub(intended)), int64(end.Sub(began))
	return s, cause
}

// reasonOf is the target's reason for a refusal: the "error" (or
// "message") of a JSON answer, else the first line of the body.
func reasonOf(body []byte) string {
	var j map[string]any
	if json.Unmarshal(body, &j) == nil {
		for _, k := range []string{"error", "message", "detail"} {
			if s, ok := j[k].(string); ok && s != "" {
				return clip(s)
			}
		}
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
	if line == "" {
		return "(no body)"
	}
	return clip(line)
}

func clip(s string) string {
	if len(s) <= maxReason {
		return s
	}
	return strings.ToValidUTF8(s[:maxReason], "") + "…"
}

// WriteCauses writes the refusals of a replay, one line per cause, in the
// text report's layout.
func WriteCauses(w io.Writer, r *ReplayResult) error {
	var b strings.Builder
	if r.Skipped > 0 {
		fmt.Fprintf(&b, "  skipped      %d captured requests: body not captured whole (over the receiver's limit)\n", r.Skipped)
	}
	for _, c := range r.Causes {
		fmt.Fprintf(&b, "  refused      %d ×%d: %s\n", c.Status, c.Count, c.Reason)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
