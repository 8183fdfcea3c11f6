// Package delivery is the reference sender's delivery brain without any
// I/O: the retry policy (backoff with full jitter or an explicit
// schedule, Retry-After, 410 Gone, max attempts and age), the circuit
// breaker, ordered lanes, keyed jitter, the outcome vocabulary, and the
// steps around them that the dispatcher takes after an attempt and after
// a restart (steps.go). The live dispatcher (reference/sender) and the
// virtual-time model (sim) both call these, so a scenario decides the same
// way in both.
//
// It reads no clock (now is an argument), starts no goroutine, draws from
// no global random source and imports neither net nor os: scenario parsing
// links it without linking the outbox or an HTTP stack. The rule is
// checked by TestPurity.
package delivery

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Policy is the whole retry brain of the sender, without any I/O: given an
// attempt's outcome and the time, Next says what happens next. The live
// dispatcher and the virtual-time simulator both call it, so a scenario
// behaves the same in both.
type Policy struct {
	// Backoff spaces retries exponentially with full jitter. It is used
	// when Schedule is empty.
	Backoff Backoff
	// Schedule, when not empty, fixes the delays instead: Schedule[0]
	// before the first attempt, Schedule[i] after the i-th failure (Svix:
	// 0s, 5s, 5m, 30m, 2h, 5h, 10h, 10h). Past its end the last delay
	// repeats. In JSON, a schedule given without max_attempts sets
	// max_attempts to 0: one attempt per entry.
	Schedule []time.Duration
	// MaxAttempts dead-letters an event after this many attempts. 0
	// means len(Schedule) with a schedule, and no count limit with
	// backoff (MaxAge must then be set).
	MaxAttempts int
	// MaxAge dead-letters an event whose next attempt would fall more
	// than MaxAge after it was accepted; 0 means no age limit.
	MaxAge time.Duration
	// RetryAfterMax caps how long a Retry-After on a 429 or 503 may
	// delay the next attempt; 0 ignores Retry-After.
	RetryAfterMax time.Duration
	// AttemptTimeout bounds one attempt, from dialling to the last byte
	// of the answer.
	AttemptTimeout time.Duration
	// Concurrency is how many attempts may be in flight to one endpoint
	// at most; the endpoint earns it by answering (see Flow).
	Concurrency int
	// RateLimit, when positive, caps attempts to one endpoint per second
	// (a token bucket); 0 leaves the rate to what the endpoint's answers
	// teach (see Flow).
	RateLimit float64
	// Breaker opens the endpoint's circuit after consecutive failures.
	Breaker BreakerPolicy
	// Ordered delivers events with the same key one at a time, in the
	// order they were accepted: the next waits for the previous one's
	// final outcome (delivered or dead-lettered).
	Ordered bool
}

// Backoff is exponential backoff with full jitter: after the n-th failure
// the delay is drawn uniformly from [0, min(Cap, Base*Factor^(n-1))].
type Backoff struct {
	Base   time.Duration
	Factor float64
	Cap    time.Duration
}

// SvixSchedule is Svix's published retry schedule, a common explicit one.
func SvixSchedule() []time.Duration {
	return []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute,
		2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
}

// DefaultPolicy retries with jittered exponential backoff from 1s up to
// 1h between attempts, for at most 15 attempts or 24h, well inside the
// reference receiver's 3-day dedupe window.
func DefaultPolicy() Policy {
	return Policy{
		Backoff:        Backoff{Base: time.Second, Factor: 2, Cap: time.Hour},
		MaxAttempts:    15,
		MaxAge:         24 * time.Hour,
		RetryAfterMax:  time.Hour,
		AttemptTimeout: 15 * time.Second,
		Concurrency:    32,
		Breaker:        BreakerPolicy{Failures: 20, Cooldown: 30 * time.Second},
	}
}

// Validate explains the first field that makes no sense.
func (p Policy) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("policy.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if len(p.Schedule) == 0 {
		b := p.Backoff
		if b.Base <= 0 {
			bad("backoff.base", "must be positive (e.g. \"1s\"), got %s", b.Base)
		}
		if b.Factor < 1 {
			bad("backoff.factor", "must be at least 1, got %g", b.Factor)
		}
		if b.Cap < b.Base {
			bad("backoff.cap", "must be at least backoff.base (%s), got %s", b.Base, b.Cap)
		}
		if p.MaxAttempts == 0 && p.MaxAge == 0 {
			bad("max_attempts", "with backoff, set max_attempts or max_age, or events are retried for ever")
		}
	}
	for i, d := range p.Schedule {
		if d < 0 {
			bad(fmt.Sprintf("schedule[%d]", i), "must not be negative, got %s", d)
		}
	}
	if p.MaxAttempts < 0 {
		bad("max_attempts", "must not be negative, got %d", p.MaxAttempts)
	}
	if p.MaxAge < 0 {
		bad("max_age", "must not be negative, got %s", p.MaxAge)
	}
	if p.RetryAfterMax < 0 {
		bad("retry_after_max", "must not be negative, got %s", p.RetryAfterMax)
	}
	if p.AttemptTimeout <= 0 {
		bad("attempt_timeout", "must be positive (e.g. \"15s\"), got %s", p.AttemptTimeout)
	}
	if p.Concurrency < 1 {
		bad("concurrency", "must be at least 1, got %d", p.Concurrency)
	}
	if p.RateLimit < 0 {
		bad("rate_limit", "must not be negative (attempts per second; 0: no limit), got %g", p.RateLimit)
	}
	if p.Breaker.Failures < 0 {
		bad("breaker.failures", "must not be negative (0 turns the breaker off), got %d", p.Breaker.Failures)
	}
	if p.Breaker.Failures > 0 && p.Breaker.Cooldown <= 0 {
		bad("breaker.cooldown", "must be positive when breaker.failures is set, got %s", p.Breaker.Cooldown)
	}
	return errors.Join(errs...)
}

// maxAttempts is the effective attempt limit; 0 means none.
func (p Policy) maxAttempts() int {
	if p.MaxAttempts == 0 && len(p.Schedule) > 0 {
		return len(p.Schedule)
	}
	return p.MaxAttempts
}

// First returns when the first attempt of an event accepted at now is due.
func (p Policy) First(now time.Time, rnd *rand.Rand) time.Time {
	if len(p.Schedule) > 0 {
		return now.Add(p.Schedule[0])
	}
	return now
}

// Delay returns the wait after the n-th failed attempt (n >= 1) before the
// next one, ignoring Retry-After.
func (p Policy) Delay(n int, rnd *rand.Rand) time.Duration {
	if len(p.Schedule) > 0 {
		return p.Schedule[min(n, len(p.Schedule)-1)]
	}
	ceiling := p.Backoff.ceiling(n)
	if ceiling <= 0 {
		return 0
	}
	return time.Duration(rnd.Int64N(int64(ceiling) + 1))
}

// ceiling is min(Cap, Base*Factor^(n-1)), computed without overflowing.
func (b Backoff) ceiling(n int) time.Duration {
	c := float64(b.Base)
	for i := 1; i < n && c < float64(b.Cap); i++ {
		c *= b.Factor
	}
	if c >= float64(b.Cap) {
		return b.Cap
	}
	return time.Duration(c)
}

// Next decides what follows an attempt that ended at now with outcome o.
// *st is the state before the attempt; Next updates it to count the
// attempt. (Pointers, not values in and out: a policy and a state are a
// couple of hundred bytes, and a simulator asks this for every attempt.)
func (p *Policy) Next(st *DeliveryState, o Outcome, now time.Time, rnd *rand.Rand) Decision {
	st.Attempts++
	st.LastAt = now
	st.Last = o
	if o.OK() {
		return Decision{Kind: Delivered, At: now}
	}
	if o.Err == ErrNone && o.Status == statusGone {
		return Decision{Kind: DisableEndpoint, At: now,
			Reason: fmt.Sprintf("endpoint answered 410 Gone on attempt %d: endpoint disabled", st.Attempts)}
	}
	if limit := p.maxAttempts(); limit > 0 && st.Attempts >= limit {
		return Decision{Kind: DeadLetter, At: now,
			Reason: fmt.Sprintf("gave up after %d attempts (last: %s)", st.Attempts, o)}
	}
	delay := p.Delay(st.Attempts, rnd)
	if o.Err == ErrInterrupted {
		// The sender stopped mid-attempt: its own fault, not the
		// endpoint's, so try again at once rather than back off.
		delay = 0
	}
	if o.RetryAfter > 0 && p.RetryAfterMax > 0 && o.Err == ErrNone &&
		(o.Status == statusTooManyRequests || o.Status == statusServiceUnavailable) {
		// The endpoint said when to come back; believe it, up to a cap
		// so that a hostile or buggy header cannot park events for ever.
		delay = min(o.RetryAfter, p.RetryAfterMax)
	}
	at := now.Add(delay)
	if p.MaxAge > 0 && !st.FirstAt.IsZero() && at.Sub(st.FirstAt) > p.MaxAge {
		return Decision{Kind: DeadLetter, At: now,
			Reason: fmt.Sprintf("max age %s reached after %d attempts (last: %s)", p.MaxAge, st.Attempts, o)}
	}
	return Decision{Kind: RetryAt, At: at}
}
