package scenarios

import (
	"fmt"
	"strings"
	"time"
)

// What a command line may change about a scenario besides --set: its
// assertions (hookrig run --assert) and the length of its load
// (--duration), and the assertions a run against the user's own endpoint
// is judged by when the command line states none.

// ParseAssertion compiles one assertion given outside a file (a command
// line's --assert): the same language as a scenario's assertions.
func ParseAssertion(src string) (Assertion, error) {
	src = strings.TrimSpace(src)
	if src == "" {
		return Assertion{}, fmt.Errorf("empty assertion: expected a boolean expression such as `lost == 0`")
	}
	prog, err := compileAssertion(src)
	if err != nil {
		return Assertion{}, fmt.Errorf("assertion %q: %v (assertions are boolean expressions over the result, e.g. lost == 0; see the README for every variable)",
			src, strings.TrimSpace(strings.SplitN(err.Error(), "\n", 2)[0]))
	}
	return Assertion{Expr: src, program: prog}, nil
}

// EndpointProfile names the assertions a run against the user's own
// endpoint is judged by: reliability only. The built-ins' latency and
// retry-amplification thresholds fit hookrig's reference receiver on
// loopback; an endpoint of the user's answers in its own time, which is a
// finding for the report, not a failed promise, unless the user states a
// threshold (--assert).
const EndpointProfile = "endpoint"

// EndpointAssertions are the endpoint profile's assertions: nothing lost,
// nothing dead-lettered, every redelivered event acknowledged again (an
// endpoint that rejects a duplicate makes the sender give up on an event
// it did receive) and nothing left pending.
var endpointAssertions = []string{
	"lost == 0",
	"dead_lettered == 0",
	"dead_lettered_received == 0",
	"pending == 0",
}

// EndpointAssertions returns the endpoint profile's assertions, compiled.
func EndpointAssertions() []Assertion {
	out := make([]Assertion, 0, len(endpointAssertions))
	for _, src := range endpointAssertions {
		a, err := ParseAssertion(src)
		if err != nil {
			panic(err) // a constant of this file: a test compiles them all
		}
		out = append(out, a)
	}
	return out
}

// WithLoadDuration returns a copy of s whose load lasts total: the whole
// timeline (phases, fault windows, sender crashes) scaled by
// total/LoadEnd, as Shortened does. The drain timeout is kept.
func (s *Scenario) WithLoadDuration(total time.Duration) (*Scenario, error) {
	end := s.LoadEnd()
	switch {
	case total <= 0:
		return nil, fmt.Errorf("%s: expected a positive duration such as 30s", total)
	case end <= 0:
		return nil, fmt.Errorf("scenario %s has no load phases to scale", s.Name)
	}
	return s.Shortened(float64(total) / float64(end)), nil
}
