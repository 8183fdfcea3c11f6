package delivery

import "time"

// BreakerPolicy is a per-endpoint circuit breaker: after Failures
// consecutive failures (see Outcome.EndpointFailure) the circuit opens and
// no attempt goes to the endpoint for Cooldown; then one probe is let
// through (half-open): success closes the circuit, failure opens it again.
// Failures == 0 turns it off. Like Policy it is pure: the state is a value
// the caller keeps.
type BreakerPolicy struct {
	Failures int
	Cooldown time.Duration
}

// BreakerPhase is where the circuit stands.
type BreakerPhase int

const (
	BreakerClosed   BreakerPhase = iota // attempts flow
	BreakerOpen                         // no attempts until OpenUntil
	BreakerHalfOpen                     // one probe is in flight; others wait for its outcome
)

func (p BreakerPhase) String() string {
	switch p {
	case BreakerClosed:
		return "closed"
	case BreakerOpen:
		return "open"
	case BreakerHalfOpen:
		return "half_open"
	}
	return "unknown"
}

// BreakerState is one endpoint's circuit.
type BreakerState struct {
	Phase     BreakerPhase
	Failures  int       // consecutive failures while closed
	OpenUntil time.Time // while open: when the probe may go
	Opened    int       // how many times the circuit has opened (for stats)
}

// allow reads *s and says whether an attempt may start at now and
// whether it is the probe: the first attempt through after the cooldown
// moves the circuit to half-open, and nothing else passes until it is
// recorded. The caller takes the probe (takeProbe) once nothing else
// holds the attempt back. (Admit asks it for every attempt: a state in
// and out by value was a good part of an admission.)
func (b *BreakerPolicy) allow(s *BreakerState, now time.Time) (ok, probe bool) {
	if b.Failures <= 0 {
		return true, false
	}
	switch s.Phase {
	case BreakerOpen:
		if now.Before(s.OpenUntil) {
			return false, false
		}
		return true, true
	case BreakerHalfOpen:
		return false, false
	}
	return true, false
}

// takeProbe moves an open circuit to half-open: its probe is on its way.
func (s *BreakerState) takeProbe() { s.Phase = BreakerHalfOpen }

// record updates the circuit in place with an attempt's result (Settle's,
// on every outcome); ok is false when the outcome was an endpoint
// failure. A result arriving while the circuit is open belongs to an
// attempt started before it opened and is ignored.
func (b *BreakerPolicy) record(s *BreakerState, ok bool, now time.Time) {
	if b.Failures <= 0 {
		return
	}
	switch s.Phase {
	case BreakerClosed:
		if ok {
			s.Failures = 0
			return
		}
		s.Failures++
		if s.Failures >= b.Failures {
			b.open(s, now)
		}
	case BreakerHalfOpen:
		if ok {
			*s = BreakerState{Phase: BreakerClosed, Opened: s.Opened}
			return
		}
		b.open(s, now)
	}
}

func (b *BreakerPolicy) open(s *BreakerState, now time.Time) {
	s.Phase = BreakerOpen
	s.Failures = 0
	s.OpenUntil = now.Add(b.Cooldown)
	s.Opened++
}
