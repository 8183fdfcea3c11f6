package delivery

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hookrig/hookrig/internal/jsontime"
)

// policyJSON is Policy's wire form.
type policyJSON struct {
	Backoff        *backoffJSON        `json:"backoff,omitempty"`
	Schedule       []jsontime.Duration `json:"schedule,omitempty"`
	MaxAttempts    int                 `json:"max_attempts"`
	MaxAge         jsontime.Duration   `json:"max_age"`
	RetryAfterMax  jsontime.Duration   `json:"retry_after_max"`
	AttemptTimeout jsontime.Duration   `json:"attempt_timeout"`
	Concurrency    int                 `json:"concurrency"`
	RateLimit      float64             `json:"rate_limit,omitempty"`
	Breaker        breakerJSON         `json:"breaker"`
	Ordered        bool                `json:"ordered"`
}

type backoffJSON struct {
	Base   jsontime.Duration `json:"base"`
	Factor float64           `json:"factor"`
	Cap    jsontime.Duration `json:"cap"`
}

type breakerJSON struct {
	Failures int               `json:"failures"`
	Cooldown jsontime.Duration `json:"cooldown"`
}

// MarshalJSON writes durations as strings and either "backoff" or
// "schedule", whichever is in use.
func (p Policy) MarshalJSON() ([]byte, error) {
	w := policyJSON{
		MaxAttempts:    p.MaxAttempts,
		MaxAge:         jsontime.Duration(p.MaxAge),
		RetryAfterMax:  jsontime.Duration(p.RetryAfterMax),
		AttemptTimeout: jsontime.Duration(p.AttemptTimeout),
		Concurrency:    p.Concurrency,
		RateLimit:      p.RateLimit,
		Breaker:        breakerJSON{Failures: p.Breaker.Failures, Cooldown: jsontime.Duration(p.Breaker.Cooldown)},
		Ordered:        p.Ordered,
	}
	if len(p.Schedule) == 0 {
		w.Backoff = &backoffJSON{Base: jsontime.Duration(p.Backoff.Base), Factor: p.Backoff.Factor, Cap: jsontime.Duration(p.Backoff.Cap)}
	}
	for _, d := range p.Schedule {
		w.Schedule = append(w.Schedule, jsontime.Duration(d))
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes over the policy's current value, so fields left
// out keep what it held: decode into a copy of DefaultPolicy to give a
// partial policy sensible defaults. Unknown fields are errors, and every
// error names its field ("policy.backoff.base: ...").
func (p *Policy) UnmarshalJSON(b []byte) error {
	np := *p
	np.Schedule = slices.Clone(p.Schedule)
	var schedule []jsontime.Duration
	var backoff, breaker json.RawMessage
	seen, err := decodeFields("policy", b, map[string]any{
		"backoff":         &backoff,
		"schedule":        &schedule,
		"max_attempts":    &np.MaxAttempts,
		"max_age":         (*jsontime.Duration)(&np.MaxAge),
		"retry_after_max": (*jsontime.Duration)(&np.RetryAfterMax),
		"attempt_timeout": (*jsontime.Duration)(&np.AttemptTimeout),
		"concurrency":     &np.Concurrency,
		"rate_limit":      &np.RateLimit,
		"breaker":         &breaker,
		"ordered":         &np.Ordered,
	})
	if err != nil {
		return err
	}
	if seen["backoff"] {
		if _, err := decodeFields("policy.backoff", backoff, map[string]any{
			"base":   (*jsontime.Duration)(&np.Backoff.Base),
			"factor": &np.Backoff.Factor,
			"cap":    (*jsontime.Duration)(&np.Backoff.Cap),
		}); err != nil {
			return err
		}
		// Naming a backoff without a schedule means "use this backoff",
		// even over a schedule the policy held before.
		np.Schedule = nil
	}
	if seen["schedule"] {
		np.Schedule = nil
		for _, d := range schedule {
			np.Schedule = append(np.Schedule, time.Duration(d))
		}
		if !seen["max_attempts"] {
			np.MaxAttempts = 0 // a schedule given alone is the whole plan
		}
	}
	if seen["breaker"] {
		if _, err := decodeFields("policy.breaker", breaker, map[string]any{
			"failures": &np.Breaker.Failures,
			"cooldown": (*jsontime.Duration)(&np.Breaker.Cooldown),
		}); err != nil {
			return err
		}
	}
	*p = np
	return nil
}

// decodeFields decodes a JSON object field by field, so an error can say
// which field was wrong and which fields exist.
func decodeFields(prefix string, b []byte, fields map[string]any) (map[string]bool, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("%s: got JSON %s, expected an object", prefix, te.Value)
		}
		return nil, fmt.Errorf("%s: %v", prefix, err)
	}
	seen := make(map[string]bool, len(raw))
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		dst, ok := fields[k]
		if !ok {
			return nil, fmt.Errorf("%s: unknown field %q (known: %s)", prefix, k, strings.Join(slices.Sorted(maps.Keys(fields)), ", "))
		}
		if bytes.Equal(bytes.TrimSpace(raw[k]), []byte("null")) {
			continue
		}
		if err := json.Unmarshal(raw[k], dst); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				err = fmt.Errorf("got JSON %s, expected %s", te.Value, te.Type)
			}
			return nil, fmt.Errorf("%s.%s: %v", prefix, k, err)
		}
		seen[k] = true
	}
	return seen, nil
}
