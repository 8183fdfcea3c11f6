package delivery

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func seeded(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed)) }

func TestScheduleIsFollowedThenDeadLetters(t *testing.T) {
	p := DefaultPolicy()
	p.Schedule = SvixSchedule()
	p.MaxAttempts = 0 // the schedule's length: 8
	p.MaxAge = 0
	rnd := seeded(1)
	if got := p.First(t0, rnd); !got.Equal(t0) {
		t.Fatalf("First = %v, want now (schedule[0] = 0s)", got)
	}
	st := DeliveryState{FirstAt: t0}
	now := t0
	wantDelays := []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
	for i, want := range wantDelays {
		dec, next := nextV(p, st, Outcome{Status: 500}, now, rnd)
		if dec.Kind != RetryAt || dec.At.Sub(now) != want {
			t.Fatalf("after attempt %d: %v at +%v, want retry at +%v", i+1, dec.Kind, dec.At.Sub(now), want)
		}
		if next.Attempts != i+1 || !next.LastAt.Equal(now) || next.Last.Status != 500 {
			t.Fatalf("state after attempt %d: %+v", i+1, next)
		}
		st, now = next, dec.At
	}
	dec, st := nextV(p, st, Outcome{Status: 503}, now, rnd)
	if dec.Kind != DeadLetter || st.Attempts != 8 || dec.Reason != "gave up after 8 attempts (last: 503 Service Unavailable)" {
		t.Fatalf("attempt 8: %+v %+v", dec, st)
	}

	// A first delay other than 0 postpones the first attempt; past its
	// end the schedule repeats its last delay when MaxAttempts is larger.
	p.Schedule = []time.Duration{time.Minute, 2 * time.Second, 3 * time.Second}
	p.MaxAttempts = 6
	if got := p.First(t0, rnd); got.Sub(t0) != time.Minute {
		t.Fatalf("First = +%v, want +1m", got.Sub(t0))
	}
	for n, want := range map[int]time.Duration{1: 2 * time.Second, 2: 3 * time.Second, 3: 3 * time.Second, 5: 3 * time.Second} {
		if got := p.Delay(n, rnd); got != want {
			t.Errorf("Delay(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestBackoffFullJitterBounds(t *testing.T) {
	p := DefaultPolicy()
	p.Backoff = Backoff{Base: 100 * time.Millisecond, Factor: 2, Cap: 5 * time.Second}
	rnd := seeded(7)
	for n := 1; n <= 12; n++ {
		ceiling := min(p.Backoff.Base*time.Duration(1<<(n-1)), p.Backoff.Cap)
		var lo, hi time.Duration = ceiling, 0
		for range 2000 {
			d := p.Delay(n, rnd)
			if d < 0 || d > ceiling {
				t.Fatalf("attempt %d: delay %v outside [0, %v]", n, d, ceiling)
			}
			lo, hi = min(lo, d), max(hi, d)
		}
		// Full jitter spreads over the whole range, not around the
		// ceiling: 2000 draws land near both ends.
		if lo > ceiling/20 || hi < ceiling-ceiling/20 {
			t.Errorf("attempt %d: draws span [%v, %v] of [0, %v]", n, lo, hi, ceiling)
		}
	}
	// Jitter is a function of the seed.
	a, b := seeded(3), seeded(3)
	for n := 1; n < 20; n++ {
		if x, y := p.Delay(n, a), p.Delay(n, b); x != y {
			t.Fatalf("same seed, attempt %d: %v != %v", n, x, y)
		}
	}
	// A huge factor does not overflow.
	p.Backoff = Backoff{Base: time.Second, Factor: 1e9, Cap: time.Hour}
	if d := p.Delay(60, rnd); d < 0 || d > time.Hour {
		t.Fatalf("overflowing ceiling gave %v", d)
	}
	// Backoff starts at once.
	if got := p.First(t0, rnd); !got.Equal(t0) {
		t.Fatalf("First = %v", got)
	}
}

func TestNextOutcomes(t *testing.T) {
	base := DefaultPolicy()
	base.Backoff = Backoff{Base: time.Second, Factor: 2, Cap: time.Minute}
	base.MaxAttempts = 5
	base.MaxAge = time.Hour
	base.RetryAfterMax = 10 * time.Minute
	cases := []struct {
		name     string
		policy   func(*Policy)
		attempts int           // before this attempt
		age      time.Duration // now - FirstAt
		o        Outcome
		kind     DecisionKind
		after    time.Duration // exact delay, or -1: within backoff bounds
		reason   string
	}{
		{name: "200", o: Outcome{Status: 200}, kind: Delivered},
		{name: "204", o: Outcome{Status: 204}, kind: Delivered},
		{name: "299", o: Outcome{Status: 299}, kind: Delivered},
		{name: "301 is not followed, retried", o: Outcome{Status: 301}, kind: RetryAt, after: -1},
		{name: "400 retried", o: Outcome{Status: 400}, kind: RetryAt, after: -1},
		{name: "500", o: Outcome{Status: 500}, kind: RetryAt, after: -1},
		{name: "timeout", o: Outcome{Err: ErrTimeout}, kind: RetryAt, after: -1},
		{name: "refused", o: Outcome{Err: ErrRefused}, kind: RetryAt, after: -1},
		{name: "410 disables", o: Outcome{Status: 410}, kind: DisableEndpoint, reason: "endpoint answered 410 Gone on attempt 1: endpoint disabled"},
		{name: "410 on the last attempt still disables", attempts: 4, o: Outcome{Status: 410}, kind: DisableEndpoint},
		{name: "429 Retry-After", o: Outcome{Status: 429, RetryAfter: 90 * time.Second}, kind: RetryAt, after: 90 * time.Second},
		{name: "503 Retry-After", o: Outcome{Status: 503, RetryAfter: 3 * time.Second}, kind: RetryAt, after: 3 * time.Second},
		{name: "503 Retry-After capped", o: Outcome{Status: 503, RetryAfter: 2 * time.Hour}, kind: RetryAt, after: 10 * time.Minute},
		{name: "Retry-After ignored on 500", o: Outcome{Status: 500, RetryAfter: 9 * time.Minute}, kind: RetryAt, after: -1},
		{name: "Retry-After ignored when max is 0", policy: func(p *Policy) { p.RetryAfterMax = 0 }, o: Outcome{Status: 429, RetryAfter: 9 * time.Minute}, kind: RetryAt, after: -1},
		{name: "Retry-After past max age", age: 55 * time.Minute, o: Outcome{Status: 429, RetryAfter: 6 * time.Minute}, kind: DeadLetter,
			reason: "max age 1h0m0s reached after 1 attempts (last: 429 Too Many Requests)"},
		{name: "max attempts", attempts: 4, o: Outcome{Err: ErrReset}, kind: DeadLetter, reason: "gave up after 5 attempts (last: reset)"},
		{name: "delivered on the last attempt", attempts: 4, o: Outcome{Status: 200}, kind: Delivered},
		{name: "max age", age: 2 * time.Hour, o: Outcome{Status: 502}, kind: DeadLetter, reason: "max age 1h0m0s reached after 1 attempts (last: 502 Bad Gateway)"},
		{name: "no age limit", policy: func(p *Policy) { p.MaxAge = 0 }, age: 1000 * time.Hour, o: Outcome{Status: 502}, kind: RetryAt, after: -1},
		{name: "no count limit", policy: func(p *Policy) { p.MaxAttempts = 0 }, attempts: 1000, o: Outcome{Status: 502}, kind: RetryAt, after: -1},
		{name: "interrupted retries at once", attempts: 2, o: Outcome{Err: ErrInterrupted}, kind: RetryAt, after: 0},
		{name: "interrupted still counts", attempts: 4, o: Outcome{Err: ErrInterrupted}, kind: DeadLetter, reason: "gave up after 5 attempts (last: interrupted)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := base
			if c.policy != nil {
				c.policy(&p)
			}
			now := t0.Add(c.age)
			st := DeliveryState{Attempts: c.attempts, FirstAt: t0}
			dec, next := nextV(p, st, c.o, now, seeded(1))
			if dec.Kind != c.kind {
				t.Fatalf("decision %v (%s), want %v", dec.Kind, dec.Reason, c.kind)
			}
			if next.Attempts != c.attempts+1 || next.Last != c.o || !next.LastAt.Equal(now) || !next.FirstAt.Equal(t0) {
				t.Fatalf("state %+v", next)
			}
			if c.reason != "" && dec.Reason != c.reason {
				t.Fatalf("reason %q, want %q", dec.Reason, c.reason)
			}
			if c.kind != RetryAt {
				return
			}
			got := dec.At.Sub(now)
			if c.after >= 0 {
				if got != c.after {
					t.Fatalf("retry after %v, want %v", got, c.after)
				}
				return
			}
			if ceiling := p.Backoff.ceiling(c.attempts + 1); got < 0 || got > ceiling {
				t.Fatalf("retry after %v, want within [0, %v]", got, ceiling)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2015, 10, 21, 7, 28, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 2 * time.Minute, true},
		{" 5 ", 5 * time.Second, true},
		{"0", 0, true},
		{"Wed, 21 Oct 2015 07:30:00 GMT", 2 * time.Minute, true}, // IMF-fixdate
		{"Wednesday, 21-Oct-15 07:29:00 GMT", time.Minute, true}, // RFC 850
		{"Wed Oct 21 07:28:30 2015", 30 * time.Second, true},     // asctime
		{"Wed, 21 Oct 2015 07:00:00 GMT", 0, true},               // in the past: now
		{"99999999999999999999", 0, false},                       // overflows int64
		{"9223372036", time.Duration(9223372036) * time.Second, true},
		{"", 0, false},
		{"-5", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"Wed, 21 Oct 2015 07:30:00", 0, false},
	}
	for _, c := range cases {
		got, ok := ParseRetryAfter(c.in, now)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestEndpointFailureAndClassify(t *testing.T) {
	for o, want := range map[Outcome]bool{
		{Status: 200}: false, {Status: 400}: false, {Status: 401}: false, {Status: 410}: false,
		{Status: 408}: true, {Status: 429}: false, {Status: 500}: true, {Status: 503}: true,
		{Status: 503, RetryAfter: time.Second}: false,
		{Err: ErrTimeout}:                      true, {Err: ErrRefused}: true, {Err: ErrInterrupted}: false,
	} {
		if got := o.EndpointFailure(); got != want {
			t.Errorf("%v.EndpointFailure() = %v", o, got)
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	cases := []struct {
		change func(*Policy)
		want   string
	}{
		{func(p *Policy) {}, ""},
		{func(p *Policy) { p.Schedule = SvixSchedule(); p.Backoff = Backoff{} }, ""},
		{func(p *Policy) { p.Backoff.Base = 0 }, "policy.backoff.base: must be positive"},
		{func(p *Policy) { p.Backoff.Factor = 0.5 }, "policy.backoff.factor: must be at least 1, got 0.5"},
		{func(p *Policy) { p.Backoff.Cap = time.Millisecond }, "policy.backoff.cap: must be at least backoff.base"},
		{func(p *Policy) { p.MaxAttempts, p.MaxAge = 0, 0 }, "events are retried for ever"},
		{func(p *Policy) { p.Schedule = []time.Duration{0, -time.Second} }, "policy.schedule[1]: must not be negative"},
		{func(p *Policy) { p.AttemptTimeout = 0 }, "policy.attempt_timeout: must be positive"},
		{func(p *Policy) { p.Concurrency = 0 }, "policy.concurrency: must be at least 1"},
		{func(p *Policy) { p.Breaker = BreakerPolicy{Failures: 3} }, "policy.breaker.cooldown: must be positive"},
		{func(p *Policy) { p.Breaker.Failures = -1 }, "policy.breaker.failures: must not be negative"},
		{func(p *Policy) { p.RetryAfterMax = -1 }, "policy.retry_after_max"},
	}
	for i, c := range cases {
		p := DefaultPolicy()
		c.change(&p)
		err := p.Validate()
		if c.want == "" {
			if err != nil {
				t.Errorf("case %d: unexpected %v", i, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: got %v, want %q", i, err, c.want)
		}
	}
}

func TestPolicyJSON(t *testing.T) {
	p := DefaultPolicy()
	p.Ordered = true
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"base":"1s"`) || !strings.Contains(string(b), `"max_age":"24h0m0s"`) || strings.Contains(string(b), "schedule") {
		t.Fatalf("marshalled %s", b)
	}
	var back Policy
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(back) != fmt.Sprint(p) {
		t.Fatalf("round trip: %+v != %+v", back, p)
	}

	// Fields left out keep the policy decoded into.
	partial := DefaultPolicy()
	if err := json.Unmarshal([]byte(`{"max_attempts": 3, "breaker": {"failures": 2}, "schedule": ["0s", "1m30s"]}`), &partial); err != nil {
		t.Fatal(err)
	}
	if partial.MaxAttempts != 3 || partial.Breaker.Failures != 2 || partial.Breaker.Cooldown != 30*time.Second ||
		partial.AttemptTimeout != 15*time.Second || len(partial.Schedule) != 2 || partial.Schedule[1] != 90*time.Second {
		t.Fatalf("partial: %+v", partial)
	}
	b, _ = json.Marshal(partial)
	if !strings.Contains(string(b), `"schedule":["0s","1m30s"]`) || strings.Contains(string(b), "backoff") {
		t.Fatalf("a schedule policy marshals as %s", b)
	}
	// A schedule alone is the whole plan: one attempt per entry.
	alone := DefaultPolicy()
	if err := json.Unmarshal([]byte(`{"schedule": ["0s", "5s", "5m"]}`), &alone); err != nil {
		t.Fatal(err)
	}
	if alone.MaxAttempts != 0 || alone.maxAttempts() != 3 {
		t.Fatalf("schedule alone: max attempts %d (effective %d), want 0 (3)", alone.MaxAttempts, alone.maxAttempts())
	}
	// Naming a backoff switches back from a schedule.
	if err := json.Unmarshal([]byte(`{"backoff": {"base": "2s"}}`), &partial); err != nil {
		t.Fatal(err)
	}
	if partial.Schedule != nil || partial.Backoff.Base != 2*time.Second || partial.Backoff.Cap != time.Hour {
		t.Fatalf("backoff over schedule: %+v", partial)
	}

	for in, want := range map[string]string{
		`{"max_age": "5x"}`:                     `policy.max_age: "5x" is not a duration`,
		`{"max_age": 5}`:                        `policy.max_age: 5 is not a duration string (want e.g. "5s"; a bare number has no unit)`,
		`{"backoff": {"base": "1s", "cap": 1}}`: `policy.backoff.cap: 1 is not a duration string`,
		`{"breaker": {"cooldwn": "1s"}}`:        `policy.breaker: unknown field "cooldwn" (known: cooldown, failures)`,
		`{"max_attempts": "3"}`:                 `policy.max_attempts: got JSON string, expected int`,
		`{"retries": 3}`:                        `policy: unknown field "retries"`,
		`{"schedule": ["1s", "x"]}`:             `policy.schedule: "x" is not a duration`,
		`[1]`:                                   `policy: got JSON array, expected an object`,
	} {
		p := DefaultPolicy()
		err := json.Unmarshal([]byte(in), &p)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", in, err, want)
		}
		if fmt.Sprint(p) != fmt.Sprint(DefaultPolicy()) {
			t.Errorf("%s: a failed decode changed the policy: %+v", in, p)
		}
	}
}
