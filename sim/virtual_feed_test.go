package sim_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/hookrig/hookrig/sim"
	"github.com/hookrig/hookrig/sim/report"
)

// jsonOf renders r as the JSON report.
func jsonOf(t *testing.T, r *sim.Result) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := report.WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The virtual engine feeds the checker by Ref; the result must be the one
// feeding by id gives.
func TestCheckerRefsRecordAsIDsDo(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	type event struct {
		id       string
		key      string
		acks     int
		attempts int
		final    string
	}
	var evs []event
	for i := range 50 {
		e := event{id: fmt.Sprintf("evt_%d", i), key: fmt.Sprintf("k%d", i%3), acks: 1, attempts: 1, final: sim.StateDelivered}
		switch i % 7 {
		case 1:
			e.acks, e.attempts = 2, 2 // a duplicate
		case 2:
			e.acks, e.final = 0, sim.StateDeadLettered
		case 3:
			e.acks, e.final = 0, "" // lost
		}
		evs = append(evs, e)
	}
	feed := func(byRef bool) *sim.Result {
		c := sim.NewChecker(start)
		for i, e := range evs {
			a := sim.Accepted{ID: e.id, Key: e.key, Seq: uint64(i + 1), At: at(10 * i)}
			if !byRef {
				c.Accept(a)
				for n := range e.attempts {
					c.Attempt(sim.AttemptRec{ID: e.id, N: n + 1, At: at(10*i + 1), Status: 200})
				}
				for range e.acks {
					c.Receipt(sim.ReceiptRec{ID: e.id, At: at(10*i + 3 - i%4), Status: 200, Verified: true})
				}
				if e.final != "" {
					c.Final(sim.Final{ID: e.id, State: e.final})
				}
				continue
			}
			var r sim.Ref
			var err error
			if i%2 == 0 {
				r, err = c.NewRef(e.id)
			} else {
				r, err = c.Lookup(e.id)
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := c.AcceptRef(r, a); err != nil {
				t.Fatal(err)
			}
			for n := range e.attempts {
				c.AttemptRef(r, sim.AttemptRec{N: n + 1, At: at(10*i + 1), Status: 200})
			}
			for range e.acks {
				c.ReceiptRef(r, sim.ReceiptRec{At: at(10*i + 3 - i%4), Status: 200, Verified: true})
			}
			if e.final != "" {
				if err := c.FinalRef(r, sim.Final{State: e.final}); err != nil {
					t.Fatal(err)
				}
			}
		}
		// An id named by id after NewRef is the same event, not a new one.
		c.Receipt(sim.ReceiptRec{ID: "evt_0", At: at(999), Status: 200, Verified: true})
		return c.Result(sim.RunInfo{Scenario: "refs", End: time.Second})
	}
	byID, byRef := feed(false), feed(true)
	if a, b := jsonOf(t, byID), jsonOf(t, byRef); !bytes.Equal(a, b) {
		t.Fatalf("by id:\n%s\nby ref:\n%s", a, b)
	}
	if e := byRef.Events; e.Accepted != 50 || e.Unexpected != 0 || e.Duplicated != 8 || e.Lost != 7 || e.DeadLettered != 7 {
		t.Errorf("%+v", e)
	}

	c := sim.NewChecker(start)
	if _, err := c.NewRef(""); err == nil {
		t.Error("an empty id has no ref")
	}
	if err := c.AttemptRef(3, sim.AttemptRec{}); err == nil {
		t.Error("a ref the checker never gave must be refused")
	}
	if err := c.FinalRef(0, sim.Final{State: "done"}); err == nil {
		t.Error("no event 0 yet")
	}
	r, _ := c.NewRef("x")
	if err := c.FinalRef(r, sim.Final{State: "done"}); err == nil {
		t.Error("an unknown final state must be refused")
	}
}

// BaseLatency reads how fast undelayed deliveries were: at the median's
// rank when most events were not delayed, else in a phase that ended
// before the first fault.
func TestBaseLatency(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	build := func(fastMs []int, slowMs int, slow int, phases []sim.PhaseWindow, faults []sim.FaultWindow) *sim.Result {
		c := sim.NewChecker(start)
		n := 0
		add := func(ms int, at time.Duration) {
			id := fmt.Sprintf("e%d", n)
			n++
			c.Accept(sim.Accepted{ID: id, Seq: uint64(n), At: start.Add(at)})
			c.Receipt(sim.ReceiptRec{ID: id, At: start.Add(at + time.Duration(ms)*time.Millisecond), Status: 200, Verified: true})
		}
		for i, ms := range fastMs {
			add(ms, time.Duration(i)*time.Millisecond)
		}
		for i := range slow {
			add(slowMs, 2*time.Second+time.Duration(i)*time.Millisecond)
		}
		return c.Result(sim.RunInfo{End: time.Minute, Phases: phases, Faults: faults})
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
		[]sim.PhaseWindow{{Name: "before", End: time.Second}, {Name: "during", Start: time.Second, End: 3 * time.Second}},
		[]sim.FaultWindow{{Rule: "down", Fault: "down", Start: time.Second, End: 3 * time.Second}})
	if d, err := sim.BaseLatency(r); err != nil || d != time.Millisecond {
		t.Errorf("mostly delayed: %v, %v; want the healthy phase's 1 ms", d, err)
	}
	if _, err := sim.BaseLatency(build(nil, 0, 0, nil, nil)); err == nil {
		t.Error("nothing delivered has no base latency")
	}
}
