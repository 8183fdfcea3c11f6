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

// Compare marks a delivery percentile outside its tolerance as noise only
// when the live value lies among the undelayed deliveries; a percentile a
// delay set (hundreds of milliseconds here) is still held against the
// agreement, and so is any decision row.
func TestCompareNoise(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	build := func(ms ...int) *verdict.Result {
		c := verdict.NewChecker(start)
		for i, d := range ms {
			id := fmt.Sprintf("e%d", i)
			at := start.Add(time.Duration(i) * time.Millisecond)
			c.Accept(verdict.Accepted{ID: id, Seq: uint64(i + 1), At: at})
			c.Receipt(verdict.ReceiptRec{ID: id, At: at.Add(time.Duration(d) * time.Millisecond), Status: 200, Verified: true})
		}
		return c.Result(verdict.RunInfo{End: time.Minute})
	}
	repeat := func(ms, n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = ms
		}
		return out
	}
	row := func(rows []sim.Agreement, metric string) sim.Agreement { return agreementRow(t, rows, metric) }
	// Live undelayed deliveries at 3 ms, virtual at 2 ms: +50% p50, noise.
	rows := sim.Compare(build(repeat(3, 100)...), build(repeat(2, 100)...))
	if r := row(rows, "delivery.p50 (ms)"); !r.Noise || !r.OK || !sim.Agree(rows) {
		t.Errorf("p50 among undelayed deliveries: %+v, agree %v; want noise, not a disagreement", r, sim.Agree(rows))
	}
	// A delay the policy set: 95 events at 1 ms, 5 at 800 ms live; the
	// virtual tail at 400 ms differs by half and is no noise.
	liveMs := append(repeat(1, 95), repeat(800, 5)...)
	virtMs := append(repeat(1, 95), repeat(400, 5)...)
	rows = sim.Compare(build(liveMs...), build(virtMs...))
	if r := row(rows, "delivery.p99 (ms)"); r.Noise || r.OK || sim.Agree(rows) {
		t.Errorf("a delayed p99 that differs: %+v; want DIFFERS", r)
	}
	// Decision rows are never noise.
	rows = sim.Compare(build(repeat(3, 100)...), build(repeat(3, 90)...))
	if r := row(rows, "delivered"); r.Noise {
		t.Errorf("delivered marked noise: %+v", r)
	}
}

// A fleet's groups are compared under the top level's tolerances: a
// group that lost events on one side only, or retried 20% more, differs.
func TestCompareFleetGroups(t *testing.T) {
	result := func(lost int64, amp float64) *verdict.Result {
		return &verdict.Result{Endpoints: &verdict.Fleet{Groups: []verdict.GroupResult{
			{Name: "healthy", EventCounts: verdict.EventCounts{Accepted: 100, Delivered: 100}, Amplification: 1},
			{Name: "sick", EventCounts: verdict.EventCounts{Accepted: 100, Delivered: 100 - lost, Lost: lost}, Amplification: amp},
		}}}
	}
	row := func(rows []sim.Agreement, metric string) sim.Agreement { return agreementRow(t, rows, metric) }
	rows := sim.Compare(result(0, 2.0), result(0, 2.1))
	if !row(rows, "groups.sick.amplification").OK || !row(rows, "groups.sick.lost").OK || !sim.Agree(rows) {
		t.Errorf("5%% more attempts and nothing lost should agree: %+v", rows)
	}
	rows = sim.Compare(result(0, 2.0), result(3, 2.4))
	if row(rows, "groups.sick.amplification").OK || row(rows, "groups.sick.lost").OK || sim.Agree(rows) {
		t.Errorf("3 lost and 20%% more attempts on one side should differ: %+v", rows)
	}
	if !row(rows, "groups.healthy.lost").OK {
		t.Errorf("the healthy group agrees")
	}
}

// agreementRow is the row of rows for metric.
func agreementRow(t *testing.T, rows []sim.Agreement, metric string) sim.Agreement {
	t.Helper()
	for _, r := range rows {
		if r.Metric == metric {
			return r
		}
	}
	t.Fatalf("no row %s", metric)
	return sim.Agreement{}
}
