package sender

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/reference/sender/delivery"
)

// Each attempt is signed afresh (new timestamp, same webhook-id) and
// numbered; the payload is the body, byte for byte.
func TestAttemptsAreSignedAfresh(t *testing.T) {
	fake := clock.NewFake(t0)
	ep := newEndpoint(t, fake, func(h hit, w http.ResponseWriter, r *http.Request) {
		if h.Attempt == 1 {
			w.WriteHeader(503)
			return
		}
		w.WriteHeader(204)
	})
	h := openHarness(t, t.TempDir(), Config{Clock: fake})
	p := delivery.DefaultPolicy()
	p.Schedule = []time.Duration{0, time.Minute}
	e := h.endpoint(t, ep.srv.URL+"/hooks", &p)
	h.Start(context.Background())
	payload := `{"type":"invoice.paid", "data": {"amount": 12}}`
	ids := h.enqueue(t, ev(e.ID, "", payload))

	first := ep.next(t)
	r := h.report(t)
	if r.Decision != delivery.RetryAt || !r.NextAt.Equal(t0.Add(time.Minute)) || r.Attempt.Status != 503 || r.Attempt.N != 1 {
		t.Fatalf("first report %+v", r)
	}
	fake.Advance(time.Minute)
	second := ep.next(t)
	if r := h.report(t); r.Decision != delivery.Delivered || r.Attempt.N != 2 || r.Attempt.Status != 204 {
		t.Fatalf("second report %+v", r)
	}
	for i, got := range []hit{first, second} {
		if got.Verified != nil || got.ID != ids[0] || got.Attempt != i+1 || got.Body != payload || got.UserAgent != UserAgent {
			t.Fatalf("attempt %d: %+v", i+1, got)
		}
	}
	if second.Timestamp-first.Timestamp != 60 {
		t.Fatalf("timestamps %d then %d: each attempt must be signed at its own time", first.Timestamp, second.Timestamp)
	}
	e2, err := h.Event(ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if e2.State != StateDelivered || len(e2.Attempts) != 2 || e2.Attempts[0].Status != 503 || !e2.Attempts[1].At.Equal(t0.Add(time.Minute)) ||
		!e2.FinalAt.Equal(t0.Add(time.Minute)) || string(e2.Payload) != payload {
		t.Fatalf("event %+v", e2)
	}
}

// Retry-After is honoured in both forms, and capped.
func TestRetryAfterOnTheWire(t *testing.T) {
	fake := clock.NewFake(t0)
	answers := []func(w http.ResponseWriter){
		func(w http.ResponseWriter) { w.Header().Set("Retry-After", "120"); w.WriteHeader(429) },
		func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", fake.Now().Add(5*time.Minute).UTC().Format(http.TimeFormat))
			w.WriteHeader(503)
		},
		func(w http.ResponseWriter) { w.Header().Set("Retry-After", "999999"); w.WriteHeader(503) },
		func(w http.ResponseWriter) { w.WriteHeader(200) },
	}
	ep := newEndpoint(t, fake, func(h hit, w http.ResponseWriter, r *http.Request) { answers[h.Attempt-1](w) })
	h := openHarness(t, t.TempDir(), Config{Clock: fake})
	p := delivery.DefaultPolicy()
	p.RetryAfterMax = time.Hour
	e := h.endpoint(t, ep.srv.URL, &p)
	h.Start(context.Background())
	h.enqueue(t, ev(e.ID, "", `{}`))
	for _, want := range []time.Duration{120 * time.Second, 5 * time.Minute, time.Hour} {
		r := h.report(t)
		now := fake.Now()
		if r.Decision != delivery.RetryAt || r.NextAt.Sub(now) != want {
			t.Fatalf("report %+v: next in %v, want %v", r, r.NextAt.Sub(now), want)
		}
		fake.Advance(want)
	}
	if r := h.report(t); r.Decision != delivery.Delivered || r.Attempt.N != 4 {
		t.Fatalf("last report %+v", r)
	}
}

// The attempt timeout runs on the sender's clock.
func TestAttemptTimeout(t *testing.T) {
	fake := clock.NewFake(t0)
	release := make(chan struct{})
	ep := newEndpoint(t, fake, func(h hit, w http.ResponseWriter, r *http.Request) {
		if h.Attempt == 1 {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	})
	defer close(release)
	h := openHarness(t, t.TempDir(), Config{Clock: fake})
	p := delivery.DefaultPolicy()
	p.AttemptTimeout = 10 * time.Second
	p.Schedule = []time.Duration{0, 0}
	e := h.endpoint(t, ep.srv.URL, &p)
	h.Start(context.Background())
	h.enqueue(t, ev(e.ID, "", `{}`))
	ep.next(t) // the attempt is in the endpoint's hands
	fake.Advance(10 * time.Second)
	r := h.report(t)
	if r.Attempt.Err != delivery.ErrTimeout || r.Attempt.Status != 0 || r.Attempt.Duration != 10*time.Second || r.Decision != delivery.RetryAt {
		t.Fatalf("report %+v", r)
	}
	if r := h.report(t); r.Decision != delivery.Delivered || r.Attempt.N != 2 {
		t.Fatalf("retry %+v", r)
	}
}

// Transport errors are classified: a closed port is "refused".
func TestRefusedConnection(t *testing.T) {
	ep := newEndpoint(t, clock.Real{}, nil)
	url := ep.srv.URL
	ep.srv.Close()
	h := openHarness(t, t.TempDir(), Config{})
	e := h.endpoint(t, url, quickPolicy(2))
	h.Start(context.Background())
	h.enqueue(t, ev(e.ID, "", `{}`))
	rs := h.untilFinal(t, 1)
	if len(rs) != 2 || rs[0].Attempt.Err != delivery.ErrRefused || rs[1].Decision != delivery.DeadLetter || !strings.Contains(rs[1].Reason, "last: refused") {
		t.Fatalf("reports %+v", rs)
	}
}

// After max attempts an event is dead-lettered with the reason; a replay
// delivers it, and webhook-attempt keeps counting.
func TestDeadLetterAndReplay(t *testing.T) {
	var healthy atomic.Bool
	ep := newEndpoint(t, clock.Real{}, func(h hit, w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			http.Error(w, "database is down", 500)
		}
	})
	h := openHarness(t, t.TempDir(), Config{})
	e := h.endpoint(t, ep.srv.URL, quickPolicy(3))
	h.Start(context.Background())
	ids := h.enqueue(t, ev(e.ID, "", `{"n":1}`), ev(e.ID, "", `{"n":2}`))
	h.untilFinal(t, 2)
	dlq, err := h.DLQ(0, 10)
	if err != nil || len(dlq) != 2 {
		t.Fatalf("dlq %+v %v", dlq, err)
	}
	if dlq[0].ID != ids[0] || dlq[0].Reason != "gave up after 3 attempts (last: 500 Internal Server Error)" || dlq[0].Attempts != 3 {
		t.Fatalf("dlq entry %+v", dlq[0])
	}
	got, _ := h.Event(ids[0])
	if got.State != StateDeadLettered || len(got.Attempts) != 3 || got.Attempts[2].Detail != "database is down\n" {
		t.Fatalf("event %+v", got)
	}
	if st := h.Stats(); st.DeadLettered != 2 || st.Pending != 0 || st.Attempts != 6 {
		t.Fatalf("stats %+v", st)
	}

	healthy.Store(true)
	res, err := h.Replay([]string{ids[1]})
	if err != nil || len(res.IDs) != 1 || res.IDs[0] != ids[1] {
		t.Fatalf("replay: %+v %v", res, err)
	}
	if r := h.report(t); r.EventID != ids[1] || r.Decision != delivery.Delivered || r.Attempt.N != 4 {
		t.Fatalf("replayed attempt %+v", r)
	}
	// A delivered event cannot be replayed; an unknown one is not found.
	if _, err := h.Replay([]string{ids[1]}); err == nil || !strings.Contains(err.Error(), "is delivered, not dead-lettered") {
		t.Fatalf("replaying a delivered event: %v", err)
	}
	if _, err := h.Replay([]string{"msg_nope"}); err == nil || !strings.Contains(err.Error(), "no event") {
		t.Fatalf("replaying an unknown event: %v", err)
	}
	res, err = h.Replay(nil) // everything left
	if err != nil || len(res.IDs) != 1 || res.IDs[0] != ids[0] {
		t.Fatalf("replay all: %+v %v", res, err)
	}
	h.untilFinal(t, 1)
	if st := h.Stats(); st.Delivered != 2 || st.DeadLettered != 0 || st.Replayed != 2 || st.Pending != 0 {
		t.Fatalf("stats after replay %+v", st)
	}
	got, _ = h.Event(ids[1])
	if got.Replays != 1 || len(got.Attempts) != 4 || got.State != StateDelivered {
		t.Fatalf("replayed event %+v", got)
	}
}

// 410 Gone disables the endpoint: the event and everything waiting for
// the endpoint is dead-lettered, new events are refused until it is
// enabled again.
func TestGoneDisablesEndpoint(t *testing.T) {
	var gone atomic.Bool
	gone.Store(true)
	ep := newEndpoint(t, clock.Real{}, func(h hit, w http.ResponseWriter, r *http.Request) {
		if gone.Load() {
			w.WriteHeader(410)
		}
	})
	h := openHarness(t, t.TempDir(), Config{})
	p := quickPolicy(5)
	p.Concurrency = 1
	e := h.endpoint(t, ep.srv.URL, p)
	other := h.endpoint(t, ep.srv.URL+"/other", quickPolicy(5)) // unaffected
	ids := h.enqueue(t, ev(e.ID, "", `1`), ev(e.ID, "", `2`), ev(e.ID, "", `3`))
	h.Start(context.Background())
	r := h.report(t)
	if r.Decision != delivery.DisableEndpoint || r.Attempt.Status != 410 {
		t.Fatalf("report %+v", r)
	}
	if st := h.Stats(); st.DeadLettered != 3 || st.DisabledEndpoints != 1 || st.Pending != 0 {
		t.Fatalf("stats %+v", st)
	}
	got, _ := h.Endpoint(e.ID)
	if !got.Disabled || !strings.Contains(got.DisabledReason, "410") {
		t.Fatalf("endpoint %+v", got)
	}
	for _, id := range ids {
		x, _ := h.Event(id)
		if x.State != StateDeadLettered || !strings.Contains(x.Reason, "410 Gone") {
			t.Fatalf("event %s: %s %q", id, x.State, x.Reason)
		}
	}
	if _, err := h.Enqueue(context.Background(), []EventSpec{ev(e.ID, "", `4`)}); err == nil || !strings.Contains(err.Error(), "is disabled") {
		t.Fatalf("enqueue to a disabled endpoint: %v", err)
	}
	res, err := h.Replay(nil)
	if err != nil || len(res.IDs) != 0 || len(res.Skipped) != 3 {
		t.Fatalf("replay while disabled: %+v %v", res, err)
	}
	h.enqueue(t, ev(other.ID, "", `5`))
	if r := h.report(t); r.Endpoint != other.ID || r.Decision != delivery.DisableEndpoint {
		t.Fatalf("other endpoint: %+v", r) // it answers 410 too: its own decision
	}

	gone.Store(false)
	if _, err := h.EnableEndpoint(e.ID); err != nil {
		t.Fatal(err)
	}
	res, err = h.Replay(ids)
	if err != nil || len(res.IDs) != 3 {
		t.Fatalf("replay: %+v %v", res, err)
	}
	h.untilFinal(t, 3)
	if st := h.Stats(); st.Delivered != 3 || st.DisabledEndpoints != 1 {
		t.Fatalf("stats after enable and replay %+v", st)
	}
}

// The breaker stops attempts while open and lets one probe through after
// the cooldown.
func TestBreakerHoldsAttempts(t *testing.T) {
	fake := clock.NewFake(t0)
	var healthy atomic.Bool
	ep := newEndpoint(t, fake, func(h hit, w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(502)
		}
	})
	h := openHarness(t, t.TempDir(), Config{Clock: fake})
	p := quickPolicy(20)
	p.Concurrency = 1
	p.Breaker = delivery.BreakerPolicy{Failures: 2, Cooldown: time.Minute}
	e := h.endpoint(t, ep.srv.URL, p)
	h.Start(context.Background())
	h.enqueue(t, ev(e.ID, "", `{}`), ev(e.ID, "", `{}`))
	for i := range 2 {
		if r := h.report(t); r.Decision != delivery.RetryAt || !r.Attempt.At.Equal(t0) {
			t.Fatalf("attempt %d: %+v", i+1, r)
		}
	}
	if st := h.Stats(); st.OpenBreakers != 1 {
		t.Fatalf("stats %+v, want the breaker open", st)
	}
	healthy.Store(true)
	fake.Advance(time.Minute)
	// Nothing went out while open: the next attempt is the probe, at
	// the end of the cooldown, and it closes the circuit.
	r := h.report(t)
	if !r.Attempt.At.Equal(t0.Add(time.Minute)) || r.Decision != delivery.Delivered {
		t.Fatalf("probe %+v", r)
	}
	if r := h.report(t); r.Decision != delivery.Delivered {
		t.Fatalf("after the probe %+v", r)
	}
	if st := h.Stats(); st.OpenBreakers != 0 || st.Attempts != 4 {
		t.Fatalf("stats %+v", st)
	}
}

// No more than Concurrency attempts are in flight to one endpoint.
func TestConcurrencyLimit(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 12)
	var active, peak atomic.Int32
	ep := newEndpoint(t, clock.Real{}, func(h hit, w http.ResponseWriter, r *http.Request) {
		n := active.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		entered <- struct{}{}
		<-release
		active.Add(-1)
	})
	h := openHarness(t, t.TempDir(), Config{})
	p := quickPolicy(1)
	p.Concurrency = 3
	e := h.endpoint(t, ep.srv.URL, p)
	var specs []EventSpec
	for i := range 12 {
		specs = append(specs, ev(e.ID, "", fmt.Sprint(i)))
	}
	h.enqueue(t, specs...)
	h.Start(context.Background())
	// Wait until three handlers are counted, not just three requests
	// seen (ep.next): the endpoint reports a request before its handler
	// runs, and releasing before the third counted itself let the peak
	// read 2.
	for range 3 {
		select {
		case <-entered:
		case <-time.After(wait):
			t.Fatal("fewer than three attempts reached the endpoint")
		}
	}
	if st := h.Stats(); st.InFlight != 3 {
		t.Fatalf("in flight %d, want 3", st.InFlight)
	}
	close(release)
	h.untilFinal(t, 12)
	if got := peak.Load(); got != 3 {
		t.Fatalf("peak concurrency %d, want 3", got)
	}
}

// Ordered delivery: per key, events arrive in acceptance order, and a
// failing head holds its key back but no other key.
func TestOrderedDelivery(t *testing.T) {
	var mu sync.Mutex
	var failures int
	ep := newEndpoint(t, clock.Real{}, func(h hit, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if h.Body == `"a0"` && failures < 2 {
			failures++
			w.WriteHeader(503)
		}
	})
	h := openHarness(t, t.TempDir(), Config{})
	p := quickPolicy(5)
	p.Ordered = true
	p.Concurrency = 8
	e := h.endpoint(t, ep.srv.URL, p)
	var specs []EventSpec
	for i := range 10 {
		for _, k := range []string{"a", "b", "c"} {
			specs = append(specs, ev(e.ID, k, fmt.Sprintf(`"%s%d"`, k, i)))
		}
	}
	specs = append(specs, ev(e.ID, "", `"free"`)) // no key: not ordered
	h.enqueue(t, specs...)
	h.Start(context.Background())
	h.untilFinal(t, len(specs))

	next := map[byte]int{}
	for _, x := range ep.seen() {
		if x.Body == `"free"` {
			continue
		}
		k, n := x.Body[1], 0
		fmt.Sscanf(x.Body[2:len(x.Body)-1], "%d", &n)
		if n != next[k] {
			t.Fatalf("key %c: got %s, want %c%d next (arrivals %v)", k, x.Body, k, next[k], ep.seen())
		}
		if !(k == 'a' && n == 0 && x.Attempt < 3) {
			next[k]++ // a0's first two attempts failed: a0 again
		}
	}
	if next['a'] != 10 || next['b'] != 10 || next['c'] != 10 {
		t.Fatalf("delivered per key %v", next)
	}
	if st := h.Stats(); st.Delivered != uint64(len(specs)) || st.Waiting != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// Deleting an endpoint dead-letters what waits for it; its events stay
// readable.
func TestDeleteEndpoint(t *testing.T) {
	h := openHarness(t, t.TempDir(), Config{})
	e := h.endpoint(t, "http://127.0.0.1:9/never", nil)
	ids := h.enqueue(t, ev(e.ID, "", `1`), ev(e.ID, "", `2`))
	if err := h.DeleteEndpoint(e.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Endpoint(e.ID); err == nil {
		t.Fatal("deleted endpoint still found")
	}
	if err := h.DeleteEndpoint(e.ID); err == nil || !strings.Contains(err.Error(), "no endpoint") {
		t.Fatalf("second delete: %v", err)
	}
	for _, id := range ids {
		x, err := h.Event(id)
		if err != nil || x.State != StateDeadLettered || x.Reason != "endpoint deleted" {
			t.Fatalf("event %+v %v", x, err)
		}
	}
	if _, err := h.Enqueue(context.Background(), []EventSpec{ev(e.ID, "", `3`)}); err == nil {
		t.Fatal("enqueue to a deleted endpoint accepted")
	}
	res, err := h.Replay(nil)
	if err != nil || len(res.Skipped) != 2 || !strings.Contains(res.Skipped[0].Reason, "deleted") {
		t.Fatalf("replay %+v %v", res, err)
	}
}

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// The transport is injectable (sim's in-process wiring, custom TLS, a
// proxy): every attempt goes through it, signed.
func TestInjectedTransport(t *testing.T) {
	var seen atomic.Int32
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if seen.Add(1) == 1 {
			return nil, fmt.Errorf("proxy says no")
		}
		if r.Header.Get("webhook-signature") == "" || r.Header.Get("webhook-attempt") != "2" {
			return nil, fmt.Errorf("unsigned or misnumbered attempt: %v", r.Header)
		}
		return &http.Response{StatusCode: 202, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
	})
	h := openHarness(t, t.TempDir(), Config{Transport: rt})
	e := h.endpoint(t, "http://webhooks.invalid/x", quickPolicy(3))
	h.Start(context.Background())
	h.enqueue(t, ev(e.ID, "", `{}`))
	rs := h.untilFinal(t, 1)
	if len(rs) != 2 || rs[0].Attempt.Err != delivery.ErrOther || !strings.Contains(rs[0].Attempt.Detail, "proxy says no") ||
		rs[1].Decision != delivery.Delivered || rs[1].Attempt.Status != 202 {
		t.Fatalf("reports %+v", rs)
	}
}
