package delivery

import (
	"github.com/hookrig/hookrig/internal/httpstatus"
	"strconv"
	"time"
)

// ErrKind names what went wrong on the wire when an attempt got no HTTP
// answer. The kinds are few on purpose: the policy, the attempt log and the
// simulator only need to tell them apart, not to carry every error text.
//
// The transport words (timeout, reset, refused, eof, other) are
// internal/neterr's, which the sender's classifier maps into these; this
// package cannot import it, since it classifies with package net.
type ErrKind string

const (
	ErrNone    ErrKind = ""
	ErrTimeout ErrKind = "timeout" // the per-attempt timeout expired
	ErrReset   ErrKind = "reset"   // the connection was reset
	ErrRefused ErrKind = "refused" // nobody listened on the port
	ErrEOF     ErrKind = "eof"     // the connection closed before a full answer
	ErrOther   ErrKind = "other"   // anything else (DNS, TLS, a malformed answer)
	// ErrInterrupted marks an attempt that was in flight when the sender
	// stopped (crash or forced shutdown): its outcome is unknown, so the
	// endpoint may have received it and will see it again.
	ErrInterrupted ErrKind = "interrupted"
)

// Outcome is everything the policy needs to know about one attempt.
type Outcome struct {
	Status     int           // 0 when there was no HTTP answer
	Err        ErrKind       // ErrNone when there was an answer
	RetryAfter time.Duration // from Retry-After (seconds or HTTP date, relative to now); 0 if absent
	Elapsed    time.Duration
}

// OK reports whether the endpoint acknowledged the event (any 2xx).
func (o Outcome) OK() bool { return o.Err == ErrNone && o.Status >= 200 && o.Status <= 299 }

// EndpointFailure reports whether the outcome says the endpoint is unwell,
// which is what the circuit breaker counts: no answer, a 5xx or 408. A
// 4xx such as 400 or 401 is the endpoint answering clearly about this one
// event, so it does not trip the breaker (it is still retried). Nor does
// a throttled answer (429, or 503 with Retry-After): the endpoint is
// well and asks the sender to slow down, which the endpoint's flow does
// (flow.go); opening the circuit on top would stop it for the cooldown.
func (o Outcome) EndpointFailure() bool {
	if o.Err != ErrNone {
		return o.Err != ErrInterrupted
	}
	if o.Throttled() {
		return false
	}
	return o.Status >= 500 || o.Status == statusRequestTimeout
}

// String renders the outcome for reasons and logs: "503", "timeout".
func (o Outcome) String() string {
	if o.Err != ErrNone {
		return string(o.Err)
	}
	if t := httpstatus.Text(o.Status); t != "" {
		return strconv.Itoa(o.Status) + " " + t
	}
	return strconv.Itoa(o.Status)
}

// DeliveryState is what the policy remembers about one event between
// attempts. It is small and plain so the simulator can keep millions.
type DeliveryState struct {
	Attempts int       // attempts made so far
	FirstAt  time.Time // when the event was accepted: MaxAge counts from here
	LastAt   time.Time // when the last attempt ended
	Last     Outcome   // the last attempt's outcome
}

// DecisionKind is what to do after an attempt.
type DecisionKind int

const (
	Delivered       DecisionKind = iota // the endpoint acknowledged it
	RetryAt                             // try again at Decision.At
	DeadLetter                          // give up; the event goes to the dead-letter queue
	DisableEndpoint                     // the endpoint said 410 Gone: dead-letter and disable it
)

func (k DecisionKind) String() string {
	switch k {
	case Delivered:
		return "delivered"
	case RetryAt:
		return "retry"
	case DeadLetter:
		return "dead_letter"
	case DisableEndpoint:
		return "disable_endpoint"
	}
	return "unknown"
}

// Decision is the policy's answer.
type Decision struct {
	Kind   DecisionKind
	At     time.Time // for RetryAt: when the next attempt is due
	Reason string    // for DeadLetter and DisableEndpoint: why, for the DLQ
}
