package verdict

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// A fleet of two groups: healthy events are delivered at once; of the
// sick group's, the first is delivered after 3 attempts and 2 s, the
// second dead-lettered, the third lost and the fourth pending.
func TestGroupFigures(t *testing.T) {
	var f feed
	for i := range 10 {
		eid := id(i)
		acc := time.Duration(i) * 100 * time.Millisecond
		f.accept(Accepted{ID: eid, Seq: uint64(i + 1), At: at(acc), Endpoint: epName("healthy", i%3+1), Group: "healthy"})
		f.attempt(AttemptRec{ID: eid, N: 1, At: at(acc + time.Millisecond), Status: 200})
		f.receipt(ok(eid, acc+time.Duration(i+1)*time.Millisecond))
		f.final(Final{ID: eid, State: StateDelivered, At: at(acc + 2*time.Millisecond)})
	}
	sick := func(i int) string { return id(100 + i) }
	for i := range 4 {
		f.accept(Accepted{ID: sick(i), Seq: uint64(100 + i), At: at(0), Endpoint: "sick-1", Group: "sick"})
	}
	for n := 1; n <= 3; n++ {
		st := 503
		if n == 3 {
			st = 200
		}
		f.attempt(AttemptRec{ID: sick(0), N: n, At: at(time.Duration(n) * time.Second / 2), Status: st, Fault: "status"})
	}
	f.receipt(ok(sick(0), 2*time.Second))
	f.attempt(AttemptRec{ID: sick(1), N: 1, At: at(time.Second), Err: "timeout"})
	f.final(Final{ID: sick(1), State: StateDeadLettered, At: at(2 * time.Second), Reason: "max attempts"})
	f.final(Final{ID: sick(3), State: StatePending})

	run := RunInfo{Scenario: "fleet", End: 5 * time.Second, Groups: []GroupInfo{
		{Name: "healthy", Endpoints: 3}, {Name: "sick", Endpoints: 1, Sick: true}, {Name: "idle", Endpoints: 2},
	}}
	res := f.check(t, run)
	if res.Endpoints == nil || len(res.Endpoints.Groups) != 3 {
		t.Fatalf("endpoints = %+v", res.Endpoints)
	}
	h, s, idle := res.Endpoints.Groups[0], res.Endpoints.Groups[1], res.Endpoints.Groups[2]
	if h.Name != "healthy" || h.Endpoints != 3 || h.Sick || h.Accepted != 10 || h.Delivered != 10 || h.Attempts != 10 || h.Amplification != 1 || h.Lost != 0 {
		t.Errorf("healthy = %+v", h)
	}
	// Healthy latencies are 1 … 10 ms.
	if h.Latency.Count != 10 || h.Latency.Min != 1 || h.Latency.Max != 10 || h.Latency.P50 < 5 || h.Latency.P50 > 5.01 {
		t.Errorf("healthy latency = %+v", h.Latency)
	}
	if s.Accepted != 4 || s.Delivered != 1 || s.DeadLettered != 1 || s.Lost != 1 || s.Pending != 1 || s.Attempts != 4 || s.Failed != 3 ||
		s.Amplification != 1 || s.Latency.Max != 2000 || !s.Sick {
		t.Errorf("sick = %+v", s)
	}
	if idle.Accepted != 0 || idle.Amplification != 0 || idle.Latency.Count != 0 {
		t.Errorf("idle = %+v", idle)
	}
	// The groups add up to the top level.
	if sum := h.Accepted + s.Accepted + idle.Accepted; sum != res.Events.Accepted {
		t.Errorf("groups accept %d, the run %d", sum, res.Events.Accepted)
	}
	// Isolation: the healthy groups' p99 (10 ms); no baseline yet.
	iso := res.Isolation
	if iso == nil || iso.P99Ms != 10 || iso.Baseline || iso.Ratio != 0 {
		t.Fatalf("isolation = %+v", iso)
	}
	// The baseline: the same events, the sick group healed. Its healthy
	// group took 4 ms each; the healed group's 100 ms do not count.
	var bf feed
	for i := range 10 {
		bf.accept(Accepted{ID: id(i), At: at(0), Group: "healthy"})
		bf.receipt(ok(id(i), 4*time.Millisecond))
		bf.accept(Accepted{ID: sick(i), At: at(0), Group: "sick"})
		bf.receipt(ok(sick(i), 100*time.Millisecond))
	}
	base := bf.check(t, RunInfo{Groups: []GroupInfo{{Name: "healthy"}, {Name: "sick"}}})
	if base.Isolation != nil {
		t.Errorf("a fleet with no sick group has an isolation figure: %+v", base.Isolation)
	}
	res.SetIsolationBaseline(base)
	if iso.BaselineP99Ms < 4 || iso.BaselineP99Ms > 4.01 || iso.Ratio != round3(10/iso.BaselineP99Ms) || !iso.Baseline {
		t.Errorf("isolation = %+v", iso)
	}
	js, _ := json.Marshal(res)
	for _, key := range []string{`"endpoints":{"groups":[{"name":"healthy"`, `"isolation":{"baseline_p99_ms":4.001,"p99_ms":10,"ratio":2.499`} {
		if !bytes.Contains(js, []byte(key)) {
			t.Errorf("JSON lacks %s", key)
		}
	}
}

// One endpoint: no endpoints key, no isolation key.
func TestNoGroupsNoFleetKeys(t *testing.T) {
	var f feed
	f.accept(Accepted{ID: id(1), At: at(0)})
	f.receipt(ok(id(1), time.Millisecond))
	res := f.check(t, RunInfo{})
	js, _ := json.Marshal(res)
	if res.Endpoints != nil || res.Isolation != nil || bytes.Contains(js, []byte(`"endpoints"`)) || bytes.Contains(js, []byte(`"isolation"`)) {
		t.Errorf("one-endpoint result has fleet keys: %s", js)
	}
}

// A group's herd is measured after its own fault windows and the
// scenario-wide ones, not after another group's.
func TestGroupHerd(t *testing.T) {
	var f feed
	n := 0
	add := func(group string, sec, count int) {
		for range count {
			eid := id(n)
			n++
			f.accept(Accepted{ID: eid, At: at(0), Group: group})
			f.attempt(AttemptRec{ID: eid, N: 1, At: at(time.Duration(sec)*time.Second + time.Millisecond), Status: 200})
			f.receipt(ok(eid, time.Duration(sec)*time.Second+2*time.Millisecond))
		}
	}
	for s := range 10 {
		add("a", s, 2)
		add("b", s, 2)
	}
	add("a", 6, 20) // a's storm after its window [3 s, 5 s)
	run := RunInfo{End: 10 * time.Second, Groups: []GroupInfo{{Name: "a", Sick: true}, {Name: "b"}},
		Faults: []FaultWindow{{Rule: "a.outage", Fault: "status", Start: 3 * time.Second, End: 5 * time.Second}}}
	res := f.check(t, run)
	a, b := res.Endpoints.Groups[0], res.Endpoints.Groups[1]
	if a.Herd.PeakRate != 22 || a.Herd.Rule != "a.outage" || a.Herd.Ratio != 11 {
		t.Errorf("a's herd = %+v", a.Herd)
	}
	if b.Herd != (Herd{}) {
		t.Errorf("b's herd = %+v (no window touched it)", b.Herd)
	}
}

func epName(group string, n int) string { return fmt.Sprintf("%s-%d", group, n) }

// Shards merge group by group as one checker would have seen them.
func TestMergeGroups(t *testing.T) {
	run := RunInfo{End: 3 * time.Second, Groups: []GroupInfo{{Name: "a"}, {Name: "b", Sick: true}}}
	var all, one, two feed
	for i := range 40 {
		group := "a"
		if i%4 == 0 {
			group = "b"
		}
		var f *feed = &one
		if i%2 == 1 {
			f = &two
		}
		for _, x := range []*feed{&all, f} {
			x.accept(Accepted{ID: id(i), At: at(0), Group: group})
			x.attempt(AttemptRec{ID: id(i), N: 1, At: at(time.Millisecond), Status: 200})
			if i%10 != 3 {
				x.receipt(ok(id(i), time.Duration(i+1)*time.Millisecond))
			}
		}
	}
	want := all.check(t, run)
	got, err := Merge(one.check(t, run), two.check(t, run))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Endpoints.Groups) != 2 {
		t.Fatalf("groups %+v", got.Endpoints)
	}
	for i, w := range want.Endpoints.Groups {
		g := got.Endpoints.Groups[i]
		if g.Name != w.Name || g.Accepted != w.Accepted || g.Delivered != w.Delivered || g.Lost != w.Lost ||
			g.Attempts != w.Attempts || g.Amplification != w.Amplification || g.Latency != w.Latency || g.Sick != w.Sick {
			t.Errorf("merged %+v\nwant   %+v", g, w)
		}
	}
	if got.Isolation == nil || *got.Isolation != *want.Isolation {
		t.Errorf("isolation %+v, want %+v", got.Isolation, want.Isolation)
	}
}
