package plan

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookrig/hookrig/chaos/fault"
	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim/verdict"
)

// This file turns a scenario into what both executors (live and virtual)
// need, so they cannot disagree about the timeline.

// Rules returns the scenario's chaos rules with their windows clipped to
// the load unless the drain keeps faults: faults are switched off by the
// timeline itself, so the live proxy and the virtual model need no
// separate "drain started" switch.
func Rules(s *scenarios.Scenario) []fault.RuleSpec {
	return windowed(s, groupRules(s, nil))
}

// GroupRules are the rules of Rules that can fire for a request to one of
// group's endpoints, as they read there: the group's own (their scope,
// endpoint.group == group, is true for such a request, so it is left
// out) and the scenario-wide ones, in Rules' order. The other groups'
// rules are left out: scoped to another group, their match is false
// without an error, and a rule whose match is false draws nothing, so
// asking these rules instead of all of them decides alike, and spares
// the simulator evaluating every group's scope for every attempt.
func GroupRules(s *scenarios.Scenario, group string) []fault.RuleSpec {
	return windowed(s, groupRules(s, &group))
}

// windowed puts a group's rules (from groupRules) before the scenario's
// own and clips their windows.
func windowed(s *scenarios.Scenario, groupFaults []scenarios.Fault) []fault.RuleSpec {
	loadEnd := s.LoadEnd()
	// A group's rules come first: rules are tried in order and the first
	// that matches decides, so a scenario-wide rule (latency on every
	// request, say) must not hide the group's own trouble.
	faults := append(groupFaults, s.Faults...)
	specs := make([]fault.RuleSpec, 0, len(faults))
	for _, f := range faults {
		spec := f.Rule
		if !s.Drain.KeepFaults {
			end := loadEnd
			if f.For > 0 {
				end = min(end, f.After+f.For)
			}
			if end <= f.After {
				continue // validation refuses these; keep the runner safe anyway
			}
			spec.For = fault.Duration(end - f.After)
		}
		specs = append(specs, spec)
	}
	return specs
}

// Windows returns the scenario's load phases and fault windows as offsets
// from the run's start, for the report's timeline.
func Windows(s *scenarios.Scenario) ([]verdict.PhaseWindow, []verdict.FaultWindow) {
	phases := make([]verdict.PhaseWindow, 0, len(s.Load.Phases))
	for _, p := range s.Load.Phases {
		phases = append(phases, verdict.PhaseWindow{Name: p.Name, Start: p.Start, End: p.End()})
	}
	var faults []verdict.FaultWindow
	for _, r := range Rules(s) {
		var head struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(r.Fault, &head)
		w := verdict.FaultWindow{Rule: r.Name, Fault: head.Type, Start: time.Duration(r.After)}
		if r.For > 0 {
			w.End = w.Start + time.Duration(r.For)
		}
		faults = append(faults, w)
	}
	return phases, faults
}

// PhaseAt names the load phase running at offset t ("" between phases or
// after the load).
func PhaseAt(s *scenarios.Scenario, t time.Duration) string {
	for _, p := range s.Load.Phases {
		if t >= p.Start && t < p.End() {
			return p.Name
		}
	}
	return ""
}

// EventIDPrefix is how a run numbers its events by default: event n (from
// 0) of a run with this seed is EventIDPrefix(seed)+n. The chaos proxy
// draws its faults from the seed, the id and the attempt, so the same seed
// faults the same events in every run, live or virtual.
func EventIDPrefix(seed uint64) string {
	return fmt.Sprintf("evt_%d_", seed)
}
