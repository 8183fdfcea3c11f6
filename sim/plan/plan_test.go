package plan

import (
	"testing"
	"time"

	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim/verdict"
)

func TestRulesClipToLoadUnlessDrainKeepsFaults(t *testing.T) {
	src := `name: clip
load:
  phases:
    - {name: a, pacer: constant:10, duration: 10s}
    - {name: b, pacer: constant:20, duration: 5s}
faults:
  - {name: open-ended, after: 2s, fault: {type: status, code: 503}}
  - {name: bounded, after: 3s, for: 4s, fault: {type: down}}
  - {name: overlong, after: 12s, for: 1h, fault: {type: reset}}
`
	s, err := scenarios.Parse([]byte(src), "clip.yaml")
	if err != nil {
		t.Fatal(err)
	}
	phases, faults := Windows(s)
	want := []verdict.FaultWindow{
		{Rule: "open-ended", Fault: "status", Start: 2 * time.Second, End: 15 * time.Second},
		{Rule: "bounded", Fault: "down", Start: 3 * time.Second, End: 7 * time.Second},
		{Rule: "overlong", Fault: "reset", Start: 12 * time.Second, End: 15 * time.Second},
	}
	if len(faults) != len(want) {
		t.Fatalf("faults = %+v", faults)
	}
	for i := range want {
		if faults[i] != want[i] {
			t.Errorf("fault %d = %+v, want %+v", i, faults[i], want[i])
		}
	}
	if len(phases) != 2 || phases[1] != (verdict.PhaseWindow{Name: "b", Start: 10 * time.Second, End: 15 * time.Second}) {
		t.Errorf("phases = %+v", phases)
	}
	if PhaseAt(s, 11*time.Second) != "b" || PhaseAt(s, 15*time.Second) != "" {
		t.Error("PhaseAt")
	}
	s.Drain.KeepFaults = true
	_, faults = Windows(s)
	if faults[0].End != 0 || faults[2].End != 12*time.Second+time.Hour {
		t.Errorf("with keep_faults: %+v", faults)
	}
}
