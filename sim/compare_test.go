package sim_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hookrig/hookrig/sim"
	"github.com/hookrig/hookrig/sim/verdict"
)

// BaseLatency reads how fast undelayed deliveries were: at the median's
// rank when most events were not delayed, else in a phase that ended
// before the first fault.
func TestBaseLatency(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	build := func(fastMs []int, slowMs int, slow int, phases []verdict.PhaseWindow, faults []verdict.FaultWindow) *verdict.Result {
		c := verdict.NewChecker(start)
		n := 0
		add := func(ms int, at time.Duration) {
			id := fmt.Sprintf("e%d", n)
			n++
			c.Accept(verdict.Accepted{ID: id, Seq: uint64(n), At: start.Add(at)})
			c.Receipt(verdict.ReceiptRec{ID: id, At: start.Add(at + time.Duration(ms)*time.Millisecond), Status: 200, Verified: true})
		}
		for i, ms := range fastMs {
			add(ms, time.Duration(i)*time.Millisecond)
		}
		for i := range slow {
			add(slowMs, 2*time.Second+time.Duration(i)*time.Millisecond)
		}
		return c.Result(verdict.RunInfo{End: time.Minute, Phases: phases, Faults: faults})
	}
	fast := make([]int, 80)
	for i := range fast {
		fast[i] = 1 + i/20 // 1, 2, 3 and 4 ms, twenty each
	}
	// 80 of 100 undelayed: the median is the 63rd percentile of those.
	r := build(fast, 500, 20, nil, nil)
	if d, err := sim.BaseLatency(r); err != nil || d < 3*time.Millisecond || d > 3100*time.Microsecond {
		t.Errorf("mostly undelayed: %v, %v; want about 3 ms", d, err)
	}
	if !sim.Undelayed(r, 4) || sim.Undelayed(r, 500) {
		t.Error("4 ms is an undelayed delivery here, 500 ms is not")
	}
	// Mostly delayed, a healthy first second: its median.
	r = build(fast[:20], 500, 80,
		[]verdict.PhaseWindow{{Name: "before", End: time.Second}, {Name: "during", Start: time.Second, End: 3 * time.Second}},
		[]verdict.FaultWindow{{Rule: "down", Fault: "down", Start: time.Second, End: 3 * time.Second}})
	if d, err := sim.BaseLatency(r); err != nil || d != time.Millisecond {
		t.Errorf("mostly delayed: %v, %v; want the healthy phase's 1 ms", d, err)
	}
	if _, err := sim.BaseLatency(build(nil, 0, 0, nil, nil)); err == nil {
		t.Error("nothing delivered has no base latency")
	}
}
