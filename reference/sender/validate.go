package sender

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hookrig/hookrig/reference/sender/delivery"
	"github.com/hookrig/hookrig/reference/webhook"
)

// Limits on what a client may send. They keep records and headers small
// enough for bbolt keys and for any HTTP server on the receiving side.
const (
	MaxIDLen   = 255
	MaxTypeLen = 255
	MaxKeyLen  = 255
	MaxBatch   = 10_000
	MaxURLLen  = 2048
)

// checkSecret normalises a secret to its whsec_ form, or makes one.
func checkSecret(raw string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return NewSecret(), nil
	}
	sec, err := webhook.ParseSecret(raw)
	if err != nil {
		return "", invalid("secret: %v", err)
	}
	return sec.String(), nil
}

// checkEventID accepts what can travel in a webhook-id header.
func checkEventID(id string) error {
	if len(id) > MaxIDLen {
		return fmt.Errorf("id: %d bytes is over the limit of %d", len(id), MaxIDLen)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("id: %q: byte %d is not printable ASCII (ids travel in the webhook-id header)", id, i)
		}
	}
	return nil
}

// checkEvent validates what can be checked without the outbox.
func checkEvent(e *EventSpec) error {
	if e.ID != "" {
		if err := checkEventID(e.ID); err != nil {
			return err
		}
	}
	switch {
	case e.Endpoint == "":
		return fmt.Errorf("endpoint: required (an id from POST /v1/endpoints)")
	case e.Type == "":
		return fmt.Errorf("type: required (e.g. \"invoice.paid\")")
	case len(e.Type) > MaxTypeLen:
		return fmt.Errorf("type: %d bytes is over the limit of %d", len(e.Type), MaxTypeLen)
	case len(e.Key) > MaxKeyLen:
		return fmt.Errorf("key: %d bytes is over the limit of %d", len(e.Key), MaxKeyLen)
	case len(e.Payload) == 0 || string(e.Payload) == "null":
		return fmt.Errorf("payload: required (the JSON body to send)")
	case !json.Valid(e.Payload):
		return fmt.Errorf("payload: not valid JSON")
	}
	return nil
}

// DefaultMaxAttemptTimeout bounds an endpoint's attempt_timeout unless
// Config.MaxAttemptTimeout says otherwise: an attempt holds a worker, and
// an endpoint pointed at a silent listener must not hold them all.
const DefaultMaxAttemptTimeout = 60 * time.Second

// Bounds on the other policy fields a client may set: wide enough for any
// real retry plan (Svix's spans 33 hours), narrow enough that no endpoint
// keeps the outbox busy for ever.
const (
	maxPolicyDelay    = 24 * time.Hour      // backoff.base, backoff.cap, a schedule entry, retry_after_max, breaker.cooldown
	maxPolicyAge      = 30 * 24 * time.Hour // max_age
	maxPolicyAttempts = 1000                // max_attempts, breaker.failures
	maxPolicyFactor   = 100.0               // backoff.factor
	maxScheduleLen    = 100
)

// checkPolicyBounds refuses a client's policy whose fields exceed what
// this sender allows, naming the field, the value and the bound. A bound
// is never below the sender's own default policy, which its operator
// chose.
func (s *Sender) checkPolicyBounds(p delivery.Policy) error {
	def := s.cfg.DefaultPolicy
	maxTimeout := s.cfg.MaxAttemptTimeout
	if maxTimeout <= 0 {
		maxTimeout = DefaultMaxAttemptTimeout
	}
	over := func(field string, got, bound any) error {
		return invalid("policy.%s: %v is over the bound of %v", field, got, bound)
	}
	dur := func(field string, got, bound, floor time.Duration) error {
		if bound = max(bound, floor); got > bound {
			return over(field, got, bound)
		}
		return nil
	}
	checks := []error{
		dur("attempt_timeout", p.AttemptTimeout, maxTimeout, def.AttemptTimeout),
		dur("backoff.base", p.Backoff.Base, maxPolicyDelay, def.Backoff.Base),
		dur("backoff.cap", p.Backoff.Cap, maxPolicyDelay, def.Backoff.Cap),
		dur("retry_after_max", p.RetryAfterMax, maxPolicyDelay, def.RetryAfterMax),
		dur("breaker.cooldown", p.Breaker.Cooldown, maxPolicyDelay, def.Breaker.Cooldown),
		dur("max_age", p.MaxAge, maxPolicyAge, def.MaxAge),
	}
	if bound := max(s.cfg.Workers, def.Concurrency); p.Concurrency > bound {
		checks = append(checks, invalid("policy.concurrency: %d is over the bound of %d (the sender's workers)", p.Concurrency, bound))
	}
	if bound := max(maxPolicyAttempts, def.MaxAttempts); p.MaxAttempts > bound {
		checks = append(checks, over("max_attempts", p.MaxAttempts, bound))
	}
	if bound := max(maxPolicyAttempts, def.Breaker.Failures); p.Breaker.Failures > bound {
		checks = append(checks, over("breaker.failures", p.Breaker.Failures, bound))
	}
	if bound := max(maxPolicyFactor, def.Backoff.Factor); p.Backoff.Factor > bound {
		checks = append(checks, over("backoff.factor", p.Backoff.Factor, bound))
	}
	if bound := max(maxScheduleLen, len(def.Schedule)); len(p.Schedule) > bound {
		checks = append(checks, invalid("policy.schedule: %d entries is over the bound of %d", len(p.Schedule), bound))
	}
	for i, d := range p.Schedule {
		checks = append(checks, dur(fmt.Sprintf("schedule[%d]", i), d, maxPolicyDelay, 0))
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	return nil
}
