package loadgen

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/reference/webhook"
)

// endpoint is a loopback webhook endpoint that counts what it receives.
type endpoint struct {
	*httptest.Server
	requests atomic.Int64
	mu       sync.Mutex
	ids      []string
	// before runs first in the handler, with the request's number (from 1).
	before func(n int64, w http.ResponseWriter, r *http.Request) bool
}

func newEndpoint(t *testing.T, before func(n int64, w http.ResponseWriter, r *http.Request) bool) *endpoint {
	e := &endpoint{before: before}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := e.requests.Add(1)
		io.Copy(io.Discard, r.Body)
		e.mu.Lock()
		e.ids = append(e.ids, r.Header.Get(webhook.HeaderID))
		e.mu.Unlock()
		if e.before != nil && !e.before(n, w, r) {
			return
		}
		w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(e.Close)
	return e
}

// seenIDs returns the webhook-ids received so far.
func (e *endpoint) seenIDs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.ids...)
}

func run(t *testing.T, cfg Config) *Result {
	t.Helper()
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestOpenLoopConstantRate(t *testing.T) {
	ep := newEndpoint(t, nil)
	res := run(t, Config{Target: Target{URL: ep.URL}, Pacer: Constant(1000), Duration: 200 * time.Millisecond})
	if res.Mode != "open" || res.Requests != 200 || res.Completed != 200 || res.NeverSent != 0 {
		t.Fatalf("mode %s, %d sent, %d completed, %d never sent; want open, 200, 200, 0", res.Mode, res.Requests, res.Completed, res.NeverSent)
	}
	if got := ep.requests.Load(); got != 200 {
		t.Errorf("endpoint saw %d requests", got)
	}
	if res.StatusCodes[200] != 200 || res.Success() != 1 {
		t.Errorf("status codes %v", res.StatusCodes)
	}
	if res.RateRequested != 1000 || res.RateAchieved != 1000 {
		t.Errorf("rate asked %v achieved %v, want 1000 and 1000", res.RateRequested, res.RateAchieved)
	}
	if res.Corrected.TotalCount() != 200 || res.Uncorrected.TotalCount() != 200 || res.Lag.TotalCount() != 200 {
		t.Errorf("histograms hold %d/%d/%d values", res.Corrected.TotalCount(), res.Uncorrected.TotalCount(), res.Lag.TotalCount())
	}
	// Corrected latency includes the scheduler lag: never below.
	if Summarize(res.Corrected).Max < Summarize(res.Uncorrected).Max {
		t.Errorf("corrected max %v below uncorrected max %v", Summarize(res.Corrected).Max, Summarize(res.Uncorrected).Max)
	}
}

// The demonstration: a server that stalls for a second in the
// middle of a constant-rate run. The requests that fell due during the
// stall waited for a connection; measured from when they were due
// (corrected), the stall shows at p99, while measured from when they were
// finally sent (uncorrected) it mostly does not.
func TestStallShowsInCorrectedLatency(t *testing.T) {
	const stall = time.Second
	var stallUntil atomic.Pointer[time.Time]
	stalled := make(chan struct{})
	ep := newEndpoint(t, func(n int64, w http.ResponseWriter, r *http.Request) bool {
		if n == 100 { // half a second in
			until := time.Now().Add(stall)
			stallUntil.Store(&until)
			close(stalled)
		}
		if u := stallUntil.Load(); u != nil {
			if d := time.Until(*u); d > 0 {
				<-time.After(d) // the fault under test, not synchronisation
			}
		}
		return true
	})
	res := run(t, Config{Target: Target{URL: ep.URL}, Pacer: Constant(200), Duration: 2 * time.Second, Concurrency: 2})
	select {
	case <-stalled:
	default:
		t.Fatal("the server never stalled")
	}
	corr, unc := Summarize(res.Corrected), Summarize(res.Uncorrected)
	t.Logf("corrected p99 %v, uncorrected p99 %v, lag p99 %v; %d sent, %d never sent",
		corr.P99, unc.P99, Summarize(res.Lag).P99, res.Requests, res.NeverSent)
	if corr.P99 < stall/2 {
		t.Errorf("corrected p99 %v does not show the %v stall", corr.P99, stall)
	}
	if unc.P99 >= corr.P99/2 {
		t.Errorf("uncorrected p99 %v is not well below corrected p99 %v: the requests held back by the stall were not measured from their intended time", unc.P99, corr.P99)
	}
	if corr.Max < stall/2 || unc.Max < stall/2 {
		t.Errorf("max corrected %v, uncorrected %v: the requests caught in the stall took about %v", corr.Max, unc.Max, stall)
	}
	if lag := Summarize(res.Lag).P99; lag < stall/4 {
		t.Errorf("scheduler lag p99 %v: requests waited for a connection during the stall", lag)
	}
}

// When the target holds every connection until the run's end, requests
// that fell due are counted as never sent, not sent in a burst afterwards.
func TestNeverSentWhenTheTargetCannotKeepUp(t *testing.T) {
	ep := newEndpoint(t, func(n int64, w http.ResponseWriter, r *http.Request) bool {
		<-time.After(700 * time.Millisecond) // longer than the run
		return true
	})
	res := run(t, Config{Target: Target{URL: ep.URL}, Pacer: Constant(100), Duration: 500 * time.Millisecond, Concurrency: 2})
	if res.Requests != 2 || res.Completed != 2 {
		t.Errorf("%d sent, %d completed; want 2 and 2 (two connections, both held)", res.Requests, res.Completed)
	}
	if res.NeverSent != 48 {
		t.Errorf("%d never sent, want 48 (50 due in 500ms, 2 sent)", res.NeverSent)
	}
	if res.RateAchieved >= res.RateRequested/10 {
		t.Errorf("achieved %v of asked %v", res.RateAchieved, res.RateRequested)
	}
	var b strings.Builder
	WriteReport(&b, res)
	if !strings.Contains(b.String(), "could not keep up") {
		t.Errorf("the report does not say the target could not keep up:\n%s", b.String())
	}
}

func TestClosedLoop(t *testing.T) {
	ep := newEndpoint(t, nil)
	res := run(t, Config{Target: Target{URL: ep.URL}, Requests: 300, Concurrency: 4})
	if res.Mode != "closed" || res.Requests != 300 || res.Completed != 300 || ep.requests.Load() != 300 {
		t.Fatalf("mode %s, %d sent, %d completed, endpoint saw %d", res.Mode, res.Requests, res.Completed, ep.requests.Load())
	}
	if res.Connections > 4 {
		t.Errorf("%d connections for 4 workers", res.Connections)
	}
	if res.Lag.TotalCount() != 0 {
		t.Errorf("a closed loop has no scheduler lag, got %d values", res.Lag.TotalCount())
	}
	if res.Corrected.TotalCount() != 300 || !res.Corrected.Equals(res.Uncorrected) {
		t.Errorf("closed loop: corrected and uncorrected should be the same 300 values")
	}
	// Every event has its own webhook-id.
	seen := map[string]bool{}
	for _, id := range ep.seenIDs() {
		if id == "" || seen[id] {
			t.Fatalf("webhook-id %q missing or repeated", id)
		}
		seen[id] = true
	}
}

// Ctrl-C: cancelling the context stops the run at once, abandons what is in
// flight, and still returns a result covering what ran.
func TestCancelStopsAndReportsWhatRan(t *testing.T) {
	for _, mode := range []string{"open", "closed"} {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			hold := make(chan struct{})
			defer close(hold)
			ep := newEndpoint(t, func(n int64, w http.ResponseWriter, r *http.Request) bool {
				if n == 50 {
					cancel() // Ctrl-C while this request is in flight
					<-hold
				}
				return true
			})
			cfg := Config{Target: Target{URL: ep.URL}, Duration: time.Minute, Clock: clock.Real{}, Concurrency: 1}
			if mode == "open" {
				cfg.Pacer = Constant(1000)
			}
			r, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			res, err := r.Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Interrupted {
				t.Error("not marked interrupted")
			}
			if res.Requests != 50 || res.Completed != res.Requests {
				t.Errorf("%d sent, %d completed: want 50, every request sent accounted for", res.Requests, res.Completed)
			}
			if res.Errors["canceled"] != 1 {
				t.Errorf("errors %v: the request in flight at the cancel is counted as canceled", res.Errors)
			}
			if res.StatusCodes[200] != res.Requests-1 {
				t.Errorf("status codes %v, %d sent", res.StatusCodes, res.Requests)
			}
			if res.Elapsed > 30*time.Second {
				t.Errorf("the run went on for %v after the cancel", res.Elapsed)
			}
		})
	}
}

// runStepped runs r on a fake clock: each of steps times the run waits on
// a timer, it calls before (if set) and moves the clock on by step.
func runStepped(r *Runner, clk *clock.Fake, steps int, step time.Duration, before func()) *Result {
	created := clk.TimerCreated()
	done := make(chan *Result)
	go func() {
		res, _ := r.Run(context.Background())
		done <- res
	}()
	for range steps {
		<-created
		created = clk.TimerCreated()
		if before != nil {
			before()
		}
		clk.Advance(step)
	}
	return <-done
}

// runOnFakeClock runs ten requests at 10/s for a second with precision on
// a fake clock, which it advances steps times by step once the scheduler
// waits; it returns the result, what OnSent reported and the run's start.
func runOnFakeClock(t *testing.T, precision time.Duration, steps int, step time.Duration) (*Result, []Sent, time.Time) {
	t.Helper()
	ep := newEndpoint(t, nil)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clock.NewFake(start)
	var mu sync.Mutex
	var sent []Sent
	r, err := New(Config{Target: Target{URL: ep.URL}, Pacer: Constant(10), Duration: time.Second, Clock: clk,
		Precision: precision, OnSent: func(s Sent) { mu.Lock(); sent = append(sent, s); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	res := runStepped(r, clk, steps, step, nil)
	if res.Requests != 10 || res.NeverSent != 0 {
		t.Fatalf("%d sent, %d never sent", res.Requests, res.NeverSent)
	}
	mu.Lock()
	defer mu.Unlock()
	return res, append([]Sent(nil), sent...), start
}

// With a fake clock nothing waits on the wall clock: the test moves time
// and the scheduler sends each request exactly when it is due.
func TestOpenLoopFollowsTheClock(t *testing.T) {
	_, sent, start := runOnFakeClock(t, 0, 9, 100*time.Millisecond) // the scheduler waits for requests 1-9
	seen := map[uint64]bool{}
	for _, s := range sent {
		want := start.Add(time.Duration(s.Seq) * 100 * time.Millisecond)
		if !s.Intended.Equal(want) || !s.Started.Equal(want) {
			t.Errorf("event %d intended %v started %v, want both %v", s.Seq, s.Intended, s.Started, want)
		}
		seen[s.Seq] = true
	}
	if len(seen) != 10 {
		t.Errorf("events %v, want 0..9", seen)
	}
}

func TestDuplicatesResendTheSameEvent(t *testing.T) {
	ep := newEndpoint(t, nil)
	var mu sync.Mutex
	var sent []Sent
	res := run(t, Config{Target: Target{URL: ep.URL}, Requests: 400, Concurrency: 3, Duplicates: 0.25, Seed: 9,
		OnSent: func(s Sent) { mu.Lock(); sent = append(sent, s); mu.Unlock() }})
	mu.Lock()
	defer mu.Unlock()
	originals := map[string]bool{}
	dups := 0
	for _, s := range sent {
		if !s.Duplicate {
			if originals[s.ID] {
				t.Fatalf("event id %s sent twice without being a duplicate", s.ID)
			}
			originals[s.ID] = true
		}
	}
	for _, s := range sent {
		if s.Duplicate {
			dups++
			if !originals[s.ID] {
				t.Errorf("duplicate %s re-sends no event sent before", s.ID)
			}
		}
	}
	if uint64(dups) != res.Duplicates || dups < 60 || dups > 140 {
		t.Errorf("%d duplicates reported to OnSent, %d in the result; want about 100 of 400", dups, res.Duplicates)
	}
	// The endpoint saw each duplicate's id again.
	counts := map[string]int{}
	for _, id := range ep.seenIDs() {
		counts[id]++
	}
	again := 0
	for _, n := range counts {
		again += n - 1
	}
	if again != dups {
		t.Errorf("endpoint saw %d repeated ids, %d duplicates were sent", again, dups)
	}
}

func TestSignedRequestsVerify(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	v, err := webhook.NewVerifier(0, secret)
	if err != nil {
		t.Fatal(err)
	}
	ep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := v.Verify(r.Header, body, time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer ep.Close()
	signer, err := webhook.NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	res := run(t, Config{Target: Target{URL: ep.URL}, Requests: 100, Concurrency: 2, Signer: signer, Payload: DefaultPayload(1024)})
	if res.StatusCodes[200] != 100 {
		t.Errorf("status codes %v: every signed request should verify", res.StatusCodes)
	}
}

func TestHTTPS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte("ok"))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes below are expected
	srv.StartTLS()
	defer srv.Close()
	res := run(t, Config{Target: Target{URL: srv.URL, Insecure: true}, Pacer: Constant(500), Duration: 100 * time.Millisecond})
	if res.StatusCodes[200] != 50 {
		t.Errorf("status codes %v, errors %v", res.StatusCodes, res.Errors)
	}
	// Without --insecure the test server's certificate is refused.
	res = run(t, Config{Target: Target{URL: srv.URL}, Requests: 3, Concurrency: 1})
	if res.Errors["tls"] != 3 {
		t.Errorf("errors %v, want 3 tls", res.Errors)
	}
}

func TestIngestModePostsSenderEvents(t *testing.T) {
	type ingested struct {
		ID, Endpoint, Type, Key string
		Payload                 json.RawMessage
	}
	var mu sync.Mutex
	var got []ingested
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || r.URL.Path != "/v1/events" {
			http.NotFound(w, r)
			return
		}
		var ev ingested
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ev); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		mu.Lock()
		got = append(got, ev)
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		json.NewEncoder(w).Encode(map[string]string{"id": ev.ID})
	}))
	defer srv.Close()
	res := run(t, Config{Target: Target{URL: srv.URL, Ingest: "ep_1"}, Requests: 20, Concurrency: 2, EventType: "order.created", Keys: 4, IDPrefix: "run7_"})
	if res.StatusCodes[202] != 20 {
		t.Fatalf("status codes %v", res.StatusCodes)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, ev := range got {
		if ev.Endpoint != "ep_1" || ev.Type != "order.created" || !strings.HasPrefix(ev.ID, "run7_") || !strings.HasPrefix(ev.Key, "key-") {
			t.Errorf("event %+v", ev)
		}
		var p struct{ ID string }
		if err := json.Unmarshal(ev.Payload, &p); err != nil || p.ID != ev.ID {
			t.Errorf("payload %s: %v", ev.Payload, err)
		}
	}
}

// Fleet and Route post each event for the endpoint Route names by the
// event's sequence number (the one in its id).
func TestIngestRoutesEventsOverAFleet(t *testing.T) {
	var mu sync.Mutex
	endpointOf := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct{ ID, Endpoint string }
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		mu.Lock()
		endpointOf[ev.ID] = ev.Endpoint
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	fleet := []string{"ep_a", "ep_b", "ep_c"}
	route := func(seq uint64) int {
		if seq%5 == 4 {
			return 99 // outside the fleet: the Ingest endpoint
		}
		return int(seq % 3)
	}
	res := run(t, Config{Target: Target{URL: srv.URL, Ingest: "ep_default", Fleet: fleet, Route: route}, Requests: 30, Concurrency: 3, IDPrefix: "f_"})
	if res.StatusCodes[202] != 30 {
		t.Fatalf("status codes %v", res.StatusCodes)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(endpointOf) != 30 {
		t.Fatalf("%d events", len(endpointOf))
	}
	for id, ep := range endpointOf {
		seq, err := strconv.ParseUint(strings.TrimPrefix(id, "f_"), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		want := "ep_default"
		if i := route(seq); i < len(fleet) {
			want = fleet[i]
		}
		if ep != want {
			t.Errorf("event %s went to %s, want %s", id, ep, want)
		}
	}
}

func TestShardsSplitTheRunAndMerge(t *testing.T) {
	ep := newEndpoint(t, nil)
	var mu sync.Mutex
	seqs := map[uint64]int{}
	var results []*Result
	for i := 0; i < 2; i++ {
		results = append(results, run(t, Config{Target: Target{URL: ep.URL}, Pacer: Constant(400), Duration: 250 * time.Millisecond,
			Shard: i, Shards: 2, OnSent: func(s Sent) { mu.Lock(); seqs[s.Seq]++; mu.Unlock() }}))
	}
	for i, r := range results {
		if r.Requests != 50 || r.RateRequested != 200 {
			t.Errorf("shard %d: %d sent at %v/s asked; want 50 at 200/s", i, r.Requests, r.RateRequested)
		}
	}
	for n := uint64(0); n < 100; n++ {
		if seqs[n] != 1 {
			t.Fatalf("event %d sent %d times across the shards", n, seqs[n])
		}
	}
	m, err := Merge(results...)
	if err != nil {
		t.Fatal(err)
	}
	if m.Requests != 100 || m.RateRequested != 400 || m.Corrected.TotalCount() != 100 || m.Shards != 2 {
		t.Errorf("merged: %d sent at %v/s asked, %d latencies, %d shards", m.Requests, m.RateRequested, m.Corrected.TotalCount(), m.Shards)
	}
	if _, err := Merge(results[0]); err == nil {
		t.Error("merging one shard of two gave no error")
	}
}

// With a precision the scheduler wakes only on its grid and sends what is
// due by then: never before a request's time, never a grid step after it.
func TestPrecisionSendsOnItsGrid(t *testing.T) {
	const grid = 250 * time.Millisecond
	// Requests due every 100 ms; the scheduler waits for 250, 500, 750
	// and 1000 ms only (four timers, where it would wait nine times).
	_, sent, start := runOnFakeClock(t, grid, 4, grid)
	if len(sent) != 10 {
		t.Fatalf("%d reported sent, want 10", len(sent))
	}
	for _, s := range sent {
		at := time.Duration(s.Seq) * 100 * time.Millisecond
		want := start.Add((at + grid - 1) / grid * grid)
		if !s.Intended.Equal(start.Add(at)) || !s.Started.Equal(want) {
			t.Errorf("event %d intended %v started %v, want intended %v started %v", s.Seq, s.Intended, s.Started, start.Add(at), want)
		}
	}
}

func TestNewRejectsBadConfigBeforeSending(t *testing.T) {
	ep := newEndpoint(t, nil)
	signer, _ := webhook.NewSigner("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	notJSON, _ := NewTemplatePayload("t", "plain text {{.ID}}", 0)
	good := func() Config {
		return Config{Target: Target{URL: ep.URL}, Pacer: Constant(10), Duration: time.Second, Clock: clock.Real{}}
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no clock", func(c *Config) { c.Clock = nil }, "no clock"},
		{"negative duration", func(c *Config) { c.Duration = -time.Second }, "negative"},
		{"negative precision", func(c *Config) { c.Precision = -time.Millisecond }, "precision"},
		{"unbounded", func(c *Config) { c.Duration = 0 }, "no end"},
		{"closed loop unbounded", func(c *Config) { c.Pacer, c.Duration = nil, 0 }, "closed loop needs"},
		{"bad URL", func(c *Config) { c.Target.URL = "http://[::1" }, "target URL"},
		{"not http", func(c *Config) { c.Target.URL = "ftp://example.com/" }, "http:// or https://"},
		{"no host", func(c *Config) { c.Target.URL = "http:///hook" }, "no host"},
		{"bad port", func(c *Config) { c.Target.URL = "http://127.0.0.1:99999/" }, "port"},
		{"bad method", func(c *Config) { c.Target.Method = "post it" }, "method"},
		{"header with a line break", func(c *Config) { c.Target.Header = []Header{{"X-A", "a\r\nb"}} }, "line break"},
		{"reserved header", func(c *Config) { c.Target.Header = []Header{{"Content-Length", "5"}} }, "set by the load generator"},
		{"duplicates of 1", func(c *Config) { c.Duplicates = 1 }, "duplicates"},
		{"bad shard", func(c *Config) { c.Shard, c.Shards = 3, 2 }, "shard"},
		{"secret in ingest mode", func(c *Config) { c.Target.Ingest, c.Signer = "ep", signer }, "nothing to sign"},
		{"ingest without JSON", func(c *Config) { c.Target.Ingest, c.Payload = "ep", notJSON }, "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good()
			tt.change(&cfg)
			_, err := New(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
	if n := ep.requests.Load(); n != 0 {
		t.Errorf("%d requests reached the endpoint", n)
	}
}

func TestOnlyOneRun(t *testing.T) {
	ep := newEndpoint(t, nil)
	r, err := New(Config{Target: Target{URL: ep.URL}, Requests: 1, Clock: clock.Real{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(context.Background()); err == nil {
		t.Error("a second Run gave no error")
	}
}

// wrappedClock is the real clock behind another type, as a caller that
// records or offsets readings has.
type wrappedClock struct{ clock.Clock }

// A clock that is not clock.Real says whether it tells real time: with
// RealTime, the Timeout is enforced (socket deadlines); without, New
// refuses a Timeout rather than silently not enforcing it.
func TestTimeoutNeedsRealTime(t *testing.T) {
	release := make(chan struct{})
	ep := newEndpoint(t, func(n int64, w http.ResponseWriter, r *http.Request) bool {
		<-release // never answers while the test runs
		return true
	})
	t.Cleanup(func() { close(release) }) // runs before ep.Close
	clk := wrappedClock{clock.Real{}}
	cfg := Config{Target: Target{URL: ep.URL}, Requests: 2, Concurrency: 1, Clock: clk, Timeout: 100 * time.Millisecond}
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "needs RealTime") {
		t.Fatalf("New with a wrapped clock, a Timeout and no RealTime: %v, want an error naming RealTime", err)
	}
	cfg.RealTime = true
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second) // bounds the test if deadlines fail
	defer cancel()
	res, _ := r.Run(ctx)
	if res.Interrupted || res.Errors["timeout"] != 2 {
		t.Errorf("errors %v (interrupted %v), want 2 timeouts", res.Errors, res.Interrupted)
	}
}

// Config.Start pins the schedule's t0: hits due before Run began are sent
// at once, intended at their due time; the rest wait for theirs.
func TestStartPinsTheSchedule(t *testing.T) {
	ep := newEndpoint(t, nil)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t0 := now.Add(-250 * time.Millisecond)
	clk := clock.NewFake(now)
	var mu sync.Mutex
	sent := map[uint64]Sent{}
	r, err := New(Config{Target: Target{URL: ep.URL}, Pacer: Constant(10), Duration: 500 * time.Millisecond, Clock: clk, Start: t0,
		OnSent: func(s Sent) { mu.Lock(); sent[s.Seq] = s; mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	res := runStepped(r, clk, 2, 100*time.Millisecond, nil) // hits 3 and 4 wait; 0-2 were due already
	if !res.Started.Equal(t0) || res.Requests != 5 {
		t.Fatalf("started %v with %d requests, want %v and 5", res.Started, res.Requests, t0)
	}
	mu.Lock()
	defer mu.Unlock()
	for seq := range uint64(5) {
		s := sent[seq]
		intended := t0.Add(time.Duration(seq) * 100 * time.Millisecond)
		started := now // due before Run: sent at once
		if seq >= 3 {
			started = now.Add(time.Duration(seq-2) * 100 * time.Millisecond) // its timer fired on the advance past it
		}
		if !s.Intended.Equal(intended) || !s.Started.Equal(started) {
			t.Errorf("event %d intended %v started %v, want %v and %v", seq, s.Intended.Sub(t0), s.Started.Sub(t0), intended.Sub(t0), started.Sub(t0))
		}
	}
}

// A closed loop whose Start is ahead waits for it.
func TestClosedLoopWaitsForStart(t *testing.T) {
	ep := newEndpoint(t, nil)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clock.NewFake(now)
	var first atomic.Pointer[time.Time]
	r, err := New(Config{Target: Target{URL: ep.URL}, Requests: 3, Concurrency: 1, Clock: clk, Start: now.Add(time.Second),
		OnSent: func(s Sent) { first.CompareAndSwap(nil, &s.Started) }})
	if err != nil {
		t.Fatal(err)
	}
	res := runStepped(r, clk, 1, time.Second, func() {
		if n := ep.requests.Load(); n != 0 {
			t.Errorf("%d requests before Start", n)
		}
	})
	if res.Requests != 3 || first.Load() == nil || !first.Load().Equal(now.Add(time.Second)) {
		t.Errorf("%d requests, first started %v; want 3 from %v", res.Requests, first.Load(), now.Add(time.Second))
	}
}

// Without a precision a request leaves at its own time, unless that is
// less than minNap after the scheduler's last wake-up: it then waits for
// the wake-up minNap after it (and is at most minNap late).
func TestWakeTimeBatchesRequestsCloserThanMinNap(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return start.Add(d) }
	tests := []struct {
		name      string
		due       time.Duration
		precision time.Duration
		slept     time.Time
		want      time.Time
	}{
		{"first request", 0, 0, time.Time{}, at(0)},
		{"far from the last wake-up", time.Millisecond, 0, at(500 * time.Microsecond), at(time.Millisecond)},
		{"minNap after it exactly", 700 * time.Microsecond, 0, at(700*time.Microsecond - minNap), at(700 * time.Microsecond)},
		{"closer: waits for the next wake-up", 550 * time.Microsecond, 0, at(500 * time.Microsecond), at(500*time.Microsecond + minNap)},
		{"due by the last wake-up: now", 100 * time.Microsecond, 0, at(500 * time.Microsecond), at(100 * time.Microsecond)},
		{"due at the last wake-up: now", 500 * time.Microsecond, 0, at(500 * time.Microsecond), at(500 * time.Microsecond)},
		{"precision: its grid, whatever the last wake-up", 1100 * time.Microsecond, time.Millisecond, at(1900 * time.Microsecond), at(2 * time.Millisecond)},
		{"precision: on the grid", 2 * time.Millisecond, time.Millisecond, time.Time{}, at(2 * time.Millisecond)},
	}
	for _, tt := range tests {
		if got := wakeTime(start, tt.due, tt.precision, tt.slept); !got.Equal(tt.want) {
			t.Errorf("%s: wakeTime(due %v, precision %v, slept %v) = %v, want %v", tt.name, tt.due, tt.precision,
				tt.slept.Sub(start), got.Sub(start), tt.want.Sub(start))
		}
	}
}
