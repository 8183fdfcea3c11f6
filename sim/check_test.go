package sim_test

import (
	"testing"

	"github.com/hookrig/hookrig/sim"
	"github.com/hookrig/hookrig/sim/internal/simtest"
	"github.com/hookrig/hookrig/sim/verdict"
)

// An assertion over an empty population fails and says why, whatever
// its comparison would give on the zero the variable holds.
func TestCheckNoPassingOnNoData(t *testing.T) {
	s := simtest.Parse(t, "no-data", `
load:
  phases:
    - {name: load, pacer: constant:10, duration: 1s}
assertions:
  - lost == 0
  - delivery.p99 < duration("1s")
  - lost_ratio < 0.01 && attempts.amplification < 2
`)
	for _, tc := range []struct {
		name     string
		events   verdict.Events
		messages []string
		checks   []string // failed run checks
	}{
		{"nothing accepted", verdict.Events{},
			[]string{"", "no event was delivered, so delivery.p99 has no value", "no event was accepted, so lost_ratio has no value"},
			[]string{"delivered > 0"}},
		{"accepted, nothing delivered, all pending", verdict.Events{Accepted: 10, Pending: 10},
			[]string{"", "no event was delivered, so delivery.p99 has no value", ""},
			[]string{"delivered > 0", "pending == 0"}},
		{"all delivered", verdict.Events{Accepted: 10, Delivered: 10}, []string{"", "", ""}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &verdict.Result{Events: tc.events}
			sim.Check(r, s)
			for i, a := range r.Assertions {
				if a.Message != tc.messages[i] || a.Passed != (tc.messages[i] == "") {
					t.Errorf("%s: passed %v, %q; want %q", a.Expr, a.Passed, a.Message, tc.messages[i])
				}
			}
			var failed []string
			for _, c := range r.FailedRunChecks() {
				failed = append(failed, c.Expr)
			}
			if len(failed) != len(tc.checks) || len(failed) > 0 && failed[0] != tc.checks[0] {
				t.Errorf("failed run checks %q, want %q", failed, tc.checks)
			}
			if r.Passed != (len(tc.checks) == 0) {
				t.Errorf("passed %v", r.Passed)
			}
		})
	}
}
