package verdict

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Shards of one run (split by ordering key) merge into exactly what one
// checker makes of all the records.
func TestMergeEqualsOneChecker(t *testing.T) {
	const n = 3000
	whole, run := syntheticFeed(11, n)
	want := whole.check(t, run)
	var shards []*Result
	for s := range 3 {
		f, _ := syntheticShard(11, n, func(i int) bool { return i >= 0 && i%7%3 == s || i < 0 && s == 0 })
		shards = append(shards, f.check(t, run))
	}
	got, err := Merge(shards...)
	if err != nil {
		t.Fatal(err)
	}
	same := func(name string, g, w any) {
		t.Helper()
		if !reflect.DeepEqual(g, w) {
			gb, _ := json.Marshal(g)
			wb, _ := json.Marshal(w)
			t.Errorf("merged %s differs:\n got %s\nwant %s", name, gb, wb)
		}
	}
	same("events", got.Events, want.Events)
	same("receipts", got.Receipts, want.Receipts)
	same("ordering", got.Ordering, want.Ordering)
	same("attempts", got.Attempts, want.Attempts)
	same("latency", got.Latency, want.Latency)
	same("histograms", got.Histograms, want.Histograms)
	same("timeline", got.Timeline, want.Timeline)
	same("faults", got.Faults, want.Faults)
	same("herd", got.Herd, want.Herd)
	same("phases", got.Phases, want.Phases)
	same("reasons", got.DeadLetterReasons, want.DeadLetterReasons)
	same("run", got.Run, want.Run)
	if got.Shards != 3 || len(got.Assertions) != 0 || !got.Passed {
		t.Errorf("shards %d assertions %d passed %v", got.Shards, len(got.Assertions), got.Passed)
	}
	if len(got.Examples.Lost) == 0 || len(got.Examples.Lost) > DefaultExampleLimit {
		t.Errorf("lost examples = %v", got.Examples.Lost)
	}
	// Merging merged results counts every shard.
	again, err := Merge(got, shards[0])
	if err != nil || again.Shards != 4 || again.Events.Accepted != want.Events.Accepted+shards[0].Events.Accepted {
		t.Errorf("merge of a merge: %v, shards %d", err, again.Shards)
	}
}

func TestMergeCoarseTimelines(t *testing.T) {
	mk := func(off int) *Result {
		var f feed
		for i := range 100 {
			at := time.Duration(i) * 2 * time.Hour / 100
			f.accept(Accepted{ID: id(i + off), At: t0.Add(at)})
			f.attempt(AttemptRec{ID: id(i + off), At: t0.Add(at), Status: 200})
			f.receipt(ok(id(i+off), at+time.Second))
		}
		return f.check(t, RunInfo{Scenario: "s", End: 2 * time.Hour,
			Faults: []FaultWindow{{Rule: "r", Start: time.Hour, End: time.Hour + time.Minute}}})
	}
	a, b := mk(0), mk(1000)
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Timeline.StepS != a.Timeline.StepS || m.Timeline.StepS == 1 {
		t.Fatalf("step = %d", m.Timeline.StepS)
	}
	f := m.Faults[0]
	if !f.PeakIsUpperBound || f.PeakRateAfter != a.Faults[0].PeakRateAfter+b.Faults[0].PeakRateAfter {
		t.Errorf("coarse merge fault = %+v, want the shards' summed peak marked as an upper bound", f)
	}
}

func TestMergeRefusesDifferentRuns(t *testing.T) {
	a := NewChecker(t0).Result(RunInfo{Scenario: "a", Mode: ModeLive})
	b := NewChecker(t0).Result(RunInfo{Scenario: "b", Mode: ModeLive})
	c := NewChecker(t0).Result(RunInfo{Scenario: "a", Mode: ModeVirtual})
	d := NewChecker(t0).Result(RunInfo{Scenario: "a", Mode: ModeLive, Faults: []FaultWindow{{Rule: "x", End: time.Second}}})
	for _, tc := range []struct {
		rs   []*Result
		want string
	}{
		{nil, "nothing to merge"},
		{[]*Result{a, b}, "one scenario"},
		{[]*Result{a, c}, "virtual run"},
		{[]*Result{a, d}, "fault windows"},
	} {
		if _, err := Merge(tc.rs...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Merge: err = %v, want %q", err, tc.want)
		}
	}
}
