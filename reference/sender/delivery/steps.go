package delivery

import "time"

// The dispatcher's steps around the policy. The live dispatcher
// (reference/sender) and the virtual-time model (sim) run them at the same
// points, so neither keeps its own copy of what follows an attempt or a
// restart; each only makes the result durable in its own outbox.

// Reasons an endpoint stops taking attempts; events dead-lettered because
// of it carry the reason.
const (
	GoneReason    = "endpoint disabled: it answered 410 Gone"
	deletedReason = "endpoint deleted"
)

// Endpoint is what the steps read and change about one endpoint.
//
// The policy is shared, not copied: the endpoint's own (the live sender's
// endpointRT) or one for a whole fleet (the simulator's), which no step
// changes. The fields every pick reads (Disabled, the breaker's phase,
// the flow's pause and suspicion) come first, so that they share a cache
// line or two: a simulator keeps ten thousand of these.
type Endpoint struct {
	Policy *Policy
	// Disabled stops new attempts: the endpoint answered 410 Gone, or
	// was disabled or deleted. Attempts in flight finish and are
	// dead-lettered unless they were delivered.
	Disabled bool
	Breaker  BreakerState
	// Flow is what the sender learnt of the endpoint's capacity (flow.go).
	Flow   Flow
	Reason string // why it is disabled
}

// Settle decides what follows an attempt of event id that ended at now
// with outcome o; st is the event's state before the attempt. In order:
// the breaker records the outcome; the endpoint's flow learns from it
// (window, pause, rate: see flow.go); the policy decides, with the event's
// keyed jitter for this attempt; a retry for a disabled endpoint becomes a
// dead letter with the endpoint's reason; a 410 disables the endpoint at
// once (in memory: the caller makes it durable with the decision, and
// dead-letters what waits for the endpoint then). It changes *ep in
// place, as Admit does, and *st to count the attempt, as Policy.Next.
func Settle(ep *Endpoint, st *DeliveryState, o Outcome, now time.Time, j *Jitter, id string) Decision {
	ep.Policy.Breaker.record(&ep.Breaker, !o.EndpointFailure(), now)
	ep.Policy.adapt(&ep.Flow, o, now)
	dec := ep.Policy.Next(st, o, now, j.For(id, st.Attempts+1))
	if dec.Kind == RetryAt && ep.Disabled {
		dec = Decision{Kind: DeadLetter, At: now, Reason: ep.Reason}
	}
	if dec.Kind == DisableEndpoint && !ep.Disabled {
		ep.Disabled, ep.Reason = true, GoneReason
	}
	return dec
}

// Restart is what a sender starting again does with an event it finds
// pending in its outbox.
type Restart int

const (
	Resume      Restart = iota // nothing to fix: schedule it as it was
	Orphan                     // its endpoint is deleted or disabled: dead-letter it (Decision)
	Interrupted                // an attempt was in flight: record it as interrupted; Decision says what follows
)

// Recover decides about event id, found pending when the sender starts
// again at now. ep is nil when the event's endpoint no longer exists;
// claimed says an attempt was claimed and not recorded, i.e. in flight
// when the sender stopped. An event whose endpoint is gone or disabled is
// dead-lettered; an interrupted attempt goes through the policy like any
// other outcome (ErrInterrupted), from the state the outbox kept.
func Recover(ep *Endpoint, st DeliveryState, claimed bool, now time.Time, j *Jitter, id string) (Restart, Decision, DeliveryState) {
	switch {
	case ep == nil:
		return Orphan, Decision{Kind: DeadLetter, At: now, Reason: deletedReason}, st
	case ep.Disabled:
		return Orphan, Decision{Kind: DeadLetter, At: now, Reason: ep.Reason}, st
	case claimed:
		st = st.Durable()
		dec := ep.Policy.Next(&st, Outcome{Err: ErrInterrupted}, now, j.For(id, st.Attempts+1))
		return Interrupted, dec, st
	}
	return Resume, Decision{}, st
}

// Durable is the part of the state the outbox keeps, and so all a
// restarted sender knows: the attempts made and when the event was
// accepted, not the last outcome.
func (st DeliveryState) Durable() DeliveryState {
	return DeliveryState{Attempts: st.Attempts, FirstAt: st.FirstAt}
}

// FirstDue is when the first attempt of event id, accepted (or replayed)
// at, is due: the policy's first delay, with the event's keyed jitter for
// the decision before attempt 1.
func FirstDue(p Policy, at time.Time, j *Jitter, id string) time.Time {
	return p.First(at, j.For(id, 0))
}
