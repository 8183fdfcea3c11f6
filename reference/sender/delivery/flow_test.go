package delivery

import (
	"math"
	"slices"
	"testing"
	"time"
)

var flowT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestFairShare(t *testing.T) {
	for _, c := range []struct {
		workers, wanting int
		want             Share
	}{
		{64, 0, Share{Workers: 64, Contended: false}}, {64, 1, Share{Workers: 64, Contended: false}}, {64, 2, Share{Workers: 32, Contended: true}},
		{64, 20, Share{Workers: 3, Contended: true}}, {64, 100, Share{Workers: 1, Contended: true}}, {1, 5, Share{Workers: 1, Contended: true}},
	} {
		if got := FairShare(c.workers, c.wanting); got != c.want {
			t.Errorf("FairShare(%d, %d) = %+v, want %+v", c.workers, c.wanting, got, c.want)
		}
	}
}

func TestRoundRobinTakesTurns(t *testing.T) {
	// Endpoint 0 can take two attempts, 1 none, 2 one; the round starts
	// at 1.
	left := []int{2, 0, 1}
	var order []int
	next := RoundRobin(3, 1, func(i int) bool {
		if left[i] == 0 {
			return false
		}
		left[i]--
		order = append(order, i)
		return true
	})
	if want := []int{2, 0, 0}; !slices.Equal(order, want) {
		t.Errorf("turns %v, want %v: one attempt per endpoint per turn, from the start", order, want)
	}
	if next != 1 {
		t.Errorf("next round starts at %d, want 1 (after the last endpoint served)", next)
	}
	if got := RoundRobin(0, 5, func(int) bool { t.Fatal("no endpoint to ask"); return false }); got != 0 {
		t.Errorf("RoundRobin over none = %d", got)
	}
}

// policyOf is p's address, for an Endpoint of the tables.
func policyOf(p Policy) *Policy { return &p }

func flowEndpoint(mod func(*Policy)) Endpoint {
	p := DefaultPolicy()
	if mod != nil {
		mod(&p)
	}
	return Endpoint{Policy: &p}
}

// admitAll admits attempts at now until one is refused.
func admitAll(ep Endpoint, inflight int, share Share, now time.Time) (admitted int, again time.Time, _ Endpoint) {
	for range 1000 {
		ok, at, es := admitV(ep, inflight+admitted, share, now)
		ep = es
		if !ok {
			return admitted, at, ep
		}
		admitted++
	}
	return admitted, time.Time{}, ep
}

func TestAdmit(t *testing.T) {
	now := flowT0
	contended := Share{Workers: 64, Contended: true}
	cases := []struct {
		name   string
		ep     Endpoint
		share  Share
		admits int
		again  time.Time
	}{
		{name: "alone, an endpoint has its whole concurrency", ep: flowEndpoint(nil), share: Share{Workers: 64, Contended: false}, admits: 32},
		{name: "a new endpoint starts with the initial window", ep: flowEndpoint(nil), share: contended, admits: InitialWindow},
		{name: "the policy's concurrency caps the window", ep: flowEndpoint(func(p *Policy) { p.Concurrency = 2 }), share: contended, admits: 2},
		{name: "the fair share caps the window", ep: flowEndpoint(nil), share: Share{Workers: 1, Contended: true}, admits: 1},
		{name: "a grown window", ep: Endpoint{Policy: policyOf(DefaultPolicy()), Flow: Flow{Window: 20}}, share: contended, admits: 20},
		{name: "paused by Retry-After", ep: Endpoint{Policy: policyOf(DefaultPolicy()), Flow: Flow{PausedUntil: now.Add(time.Second)}}, share: contended, again: now.Add(time.Second)},
		{name: "rate limit: the bucket's burst, then the next token", ep: flowEndpoint(func(p *Policy) { p.RateLimit = 100 }), share: contended,
			admits: 2, again: now.Add(10 * time.Millisecond)},
		{name: "open breaker", ep: Endpoint{Policy: policyOf(DefaultPolicy()), Breaker: BreakerState{Phase: BreakerOpen, OpenUntil: now.Add(time.Minute)}}, share: contended,
			again: now.Add(time.Minute)},
		{name: "disabled", ep: Endpoint{Policy: policyOf(DefaultPolicy()), Disabled: true}, share: contended},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, again, _ := admitAll(c.ep, 0, c.share, now)
			if n != c.admits || !again.Equal(c.again) {
				t.Errorf("admitted %d, again at %v; want %d, again at %v", n, again.Sub(now), c.admits, c.again.Sub(now))
			}
		})
	}
	// The paced endpoint admits again once its token is earned.
	ep := flowEndpoint(func(p *Policy) { p.RateLimit = 100 })
	_, again, ep := admitAll(ep, 0, contended, now)
	if ok, _, _ := admitV(ep, 0, contended, again); !ok {
		t.Errorf("refused at %v, when its next token is due", again.Sub(now))
	}
}

// settle runs one attempt's outcome through Settle and returns the
// endpoint after it.
func settle(t *testing.T, ep Endpoint, o Outcome, now time.Time) (Endpoint, Decision) {
	t.Helper()
	dec, _, ep := settleV(ep, DeliveryState{FirstAt: flowT0}, o, now, NewJitter(1), "msg_1")
	return ep, dec
}

func TestWindowGrowsWithAnswersAndHalvesOnTimeouts(t *testing.T) {
	ep := flowEndpoint(func(p *Policy) { p.Concurrency = 10 })
	now := flowT0
	for range 3 {
		ep, _ = settle(t, ep, Outcome{Status: 200, Elapsed: time.Millisecond}, now)
	}
	if got := ep.Window(); got != InitialWindow+3 {
		t.Errorf("window after 3 acknowledged attempts = %d, want %d", got, InitialWindow+3)
	}
	for range 10 {
		ep, _ = settle(t, ep, Outcome{Status: 200, Elapsed: time.Millisecond}, now)
	}
	if got := ep.Window(); got != 10 {
		t.Errorf("window = %d, want the policy's concurrency 10", got)
	}
	// Three attempts sent together time out together: one halving.
	now = now.Add(15 * time.Second)
	timeout := Outcome{Err: ErrTimeout, Elapsed: 15 * time.Second}
	for range 3 {
		ep, _ = settle(t, ep, timeout, now)
	}
	if got := ep.Window(); got != 5 {
		t.Errorf("window after one round of timeouts = %d, want 5", got)
	}
	// An attempt sent after that halving times out: it halves again.
	now = now.Add(15 * time.Second)
	ep, _ = settle(t, ep, timeout, now)
	ep, _ = settle(t, ep, timeout, now.Add(15*time.Second+time.Millisecond))
	if got := ep.Window(); got != 1 {
		t.Errorf("window after three rounds of timeouts = %d, want 1", got)
	}
	if ep, _ = settle(t, ep, Outcome{Err: ErrInterrupted}, now.Add(time.Hour)); ep.Window() != 1 {
		t.Errorf("an interrupted attempt changed the window to %d", ep.Window())
	}
}

func TestALone429WaitsForItsEventOnly(t *testing.T) {
	ep := flowEndpoint(nil)
	now := flowT0
	o := Outcome{Status: 429, RetryAfter: 2 * time.Second, Elapsed: time.Millisecond}
	ep, dec := settle(t, ep, o, now)
	if dec.Kind != RetryAt || !dec.At.Equal(now.Add(2*time.Second)) {
		t.Errorf("decision %v at %v, want a retry after Retry-After", dec.Kind, dec.At.Sub(now))
	}
	if !ep.Flow.PausedUntil.IsZero() || ep.Rate() != 0 || ep.Flow.Throttled != 1 {
		t.Errorf("after one 429: paused until %v, rate %g, throttled %d; want no pause, no pacing, 1 throttled",
			ep.Flow.PausedUntil, ep.Rate(), ep.Flow.Throttled)
	}
	if ep.Breaker.Failures != 0 {
		t.Errorf("a 429 counted as a breaker failure")
	}
}

func TestARunOf429sPausesAndPacesTheEndpoint(t *testing.T) {
	ep := flowEndpoint(nil)
	now := flowT0
	ok := Outcome{Status: 200, Elapsed: time.Millisecond}
	for range 100 {
		ep, _ = settle(t, ep, ok, now)
	}
	// 2 of the last 20 answers acknowledged: 18 throttled make a burst.
	// 100 acknowledged in the last second; then the limiter runs out.
	now = now.Add(100 * time.Millisecond)
	limited := Outcome{Status: 429, RetryAfter: time.Second, Elapsed: time.Millisecond}
	for i := range throttleBurst {
		if !ep.Flow.PausedUntil.IsZero() {
			t.Fatalf("paused after %d 429s, want after %d", i, throttleBurst)
		}
		ep, _ = settle(t, ep, limited, now)
	}
	if want := now.Add(time.Second); !ep.Flow.PausedUntil.Equal(want) {
		t.Errorf("paused until %v, want Retry-After from the run's last answer (%v)", ep.Flow.PausedUntil.Sub(flowT0), want.Sub(flowT0))
	}
	if got := ep.Rate(); math.Abs(got-90) > 1e-9 {
		t.Errorf("rate %g, want 90 (0.9 × the 100 acknowledged over the last second)", got)
	}
	cut := now
	// A 429 to an attempt sent before the cut says nothing new.
	ep, _ = settle(t, ep, Outcome{Status: 429, Elapsed: time.Second}, cut.Add(time.Millisecond))
	if got := ep.Rate(); math.Abs(got-90) > 1e-9 {
		t.Errorf("rate %g after a 429 to an attempt sent before the cut, want 90", got)
	}
	// One sent after it cuts the rate again.
	later := cut.Add(2 * time.Second)
	ep, _ = settle(t, ep, Outcome{Status: 429, Elapsed: time.Millisecond}, later)
	if got := ep.Rate(); math.Abs(got-72) > 1e-9 {
		t.Errorf("rate %g after a 429 at the new rate, want 72 (× %g)", got, rateCut)
	}
	// Acknowledged attempts grow it slowly, up to the policy's limit.
	for range 10 {
		ep, _ = settle(t, ep, ok, later)
	}
	if got := ep.Rate(); math.Abs(got-73) > 1e-9 {
		t.Errorf("rate %g after 10 acknowledged attempts, want 73", got)
	}
	ep.Policy.RateLimit = 50
	if got := ep.Rate(); got != 50 {
		t.Errorf("rate %g, want the policy's limit 50", got)
	}
}

func TestPolicyRateLimitJSON(t *testing.T) {
	p := DefaultPolicy()
	if err := p.UnmarshalJSON([]byte(`{"rate_limit": 300}`)); err != nil || p.RateLimit != 300 {
		t.Fatalf("rate_limit 300: got %g, %v", p.RateLimit, err)
	}
	b, err := p.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var q Policy
	if err := q.UnmarshalJSON(b); err != nil || q.RateLimit != 300 {
		t.Errorf("round trip of %s: %g, %v", b, q.RateLimit, err)
	}
	p.RateLimit = -1
	if err := p.Validate(); err == nil {
		t.Error("a negative rate_limit passed validation")
	}
}

func TestRandom429sDoNotThrottleTheEndpoint(t *testing.T) {
	// Three answers in ten are 429s, in the worst order for a burst
	// (together), for a thousand answers: the endpoint is never paused
	// nor paced; each event waits its own Retry-After.
	ep := flowEndpoint(nil)
	now := flowT0
	for i := range 1000 {
		o := Outcome{Status: 200, Elapsed: time.Millisecond}
		if i%10 < 3 {
			o = Outcome{Status: 429, RetryAfter: 2 * time.Second, Elapsed: time.Millisecond}
		}
		now = now.Add(20 * time.Millisecond)
		ep, _ = settle(t, ep, o, now)
		if !ep.Flow.PausedUntil.IsZero() || ep.Rate() != 0 {
			t.Fatalf("answer %d: paused until %v, rate %g; want neither", i, ep.Flow.PausedUntil, ep.Rate())
		}
	}
}

func TestSteadilyOverTheLimitThrottlesTheEndpoint(t *testing.T) {
	// Two answers in three refused, steadily: never 18 in 20, but most
	// of the last 64.
	ep := flowEndpoint(nil)
	now := flowT0
	for i := range 66 {
		if ep.Rate() != 0 && i < shareAnswers {
			t.Fatalf("paced after %d answers, want after %d", i, shareAnswers)
		}
		o := Outcome{Status: 200, Elapsed: time.Millisecond}
		if i%3 != 0 {
			o = Outcome{Status: 429, Elapsed: time.Millisecond}
		}
		now = now.Add(time.Millisecond)
		ep, _ = settle(t, ep, o, now)
	}
	if ep.Rate() <= 0 {
		t.Errorf("not paced after 66 answers, 44 of them 429")
	}
}

func TestWantsWorkers(t *testing.T) {
	now := flowT0
	ep := flowEndpoint(nil)
	paused := ep
	paused.Flow.PausedUntil = now.Add(time.Second)
	open := ep
	open.Breaker = BreakerState{Phase: BreakerOpen, OpenUntil: now.Add(time.Second)}
	disabled := ep
	disabled.Disabled = true
	for _, c := range []struct {
		name     string
		ep       Endpoint
		inflight int
		due      bool
		want     bool
	}{
		{"an event due", ep, 0, true, true},
		{"nothing due", ep, 0, false, false},
		{"attempts in flight", paused, 2, false, true},
		{"paused", paused, 0, true, false},
		{"open circuit", open, 0, true, false},
		{"disabled", disabled, 0, true, false},
	} {
		if got := c.ep.Wants(c.inflight, c.due, now); got != c.want {
			t.Errorf("%s: Wants = %v, want %v", c.name, got, c.want)
		}
	}
}
