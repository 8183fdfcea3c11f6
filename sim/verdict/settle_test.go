package verdict

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// settleEvent is one event of the settling workload and how its records
// go.
type settleEvent struct {
	id, key, phase, group string
	accepted              bool
	attempts              int
	acks                  []time.Duration // receipt times; the last ones may come after the final
	lateAcks              int             // how many of acks come after the final state
	final                 string
	reason                string
	at                    time.Duration
}

func settleWorkload(n int) []settleEvent {
	rng := rand.New(rand.NewPCG(7, 11))
	groups := []string{"healthy", "sick", ""}
	phases := []string{"warm", "peak", ""} // "": placed by time at Result
	var evs []settleEvent
	for i := range n {
		at := time.Duration(i) * 7 * time.Millisecond
		e := settleEvent{
			id: id(i), accepted: true, at: at, attempts: 1 + rng.IntN(3),
			group: groups[rng.IntN(len(groups))], phase: phases[rng.IntN(len(phases))],
			final: StateDelivered,
		}
		if rng.IntN(4) == 0 {
			e.key = fmt.Sprintf("key-%d", rng.IntN(5))
		}
		lat := time.Duration(1+rng.IntN(3000)) * time.Millisecond
		switch rng.IntN(10) {
		case 0: // a duplicate delivered after the sender called it final
			e.acks = []time.Duration{at + lat, at + 2*lat}
			e.lateAcks = 1
		case 1: // dead-lettered, though an ack got through (lost ack)
			e.acks = []time.Duration{at + lat}
			e.final, e.reason = StateDeadLettered, "max attempts"
		case 2:
			e.final, e.reason = StateDeadLettered, fmt.Sprintf("gone %d", rng.IntN(3))
		case 3:
			e.final = StatePending
		case 4:
			e.final = "" // lost: the sender's last word never came
		case 5: // an id never accepted, yet received
			e.accepted, e.final = false, ""
			e.acks = []time.Duration{at + lat}
		default:
			e.acks = []time.Duration{at + lat}
		}
		evs = append(evs, e)
	}
	return evs
}

func (e *settleEvent) accept(seq int) Accepted {
	return Accepted{ID: e.id, Key: e.key, Seq: uint64(seq), At: at(e.at), Phase: e.phase, Group: e.group}
}

// A settling checker (fed by Ref, holding events while copies may still
// arrive) forgets settled events yet works out the very Result a checker
// that keeps every event does: duplicates after the final state, lost
// acks, dead letters, reordering, unexpected ids and events placed by time
// alike.
func TestSettlingCheckerGivesTheSameResult(t *testing.T) {
	evs := settleWorkload(3000)
	run := RunInfo{
		Scenario: "settle", Mode: ModeVirtual, End: 30 * time.Second,
		Phases: []PhaseWindow{{Name: "warm", Start: 0, End: 10 * time.Second}, {Name: "peak", Start: 10 * time.Second, End: 30 * time.Second}},
		Groups: []GroupInfo{{Name: "healthy", Endpoints: 3}, {Name: "sick", Endpoints: 1, Sick: true}},
	}
	whole := NewChecker(t0)
	settling := NewChecker(t0, WithSettling())
	maxOpen := int32(0)
	for i := range evs {
		e := &evs[i]
		// The plain checker by id, every record in.
		if e.accepted {
			if err := whole.Accept(e.accept(i + 1)); err != nil {
				t.Fatal(err)
			}
		}
		for n := range e.attempts {
			whole.Attempt(AttemptRec{ID: e.id, N: n + 1, At: at(e.at + time.Millisecond), Status: 503 - 303*(n+1)/e.attempts})
		}
		for _, a := range e.acks {
			whole.Receipt(ok(e.id, a))
		}
		if e.final != "" {
			if err := whole.Final(Final{ID: e.id, State: e.final, Reason: e.reason}); err != nil {
				t.Fatal(err)
			}
		}

		// The settling one by Ref, as the virtual world feeds it: the
		// attempt that carries the late copies holds the event past its
		// final state.
		r, err := settling.NewRef(e.id)
		if err != nil {
			t.Fatal(err)
		}
		if e.accepted {
			if err := settling.AcceptRef(r, e.accept(i+1)); err != nil {
				t.Fatal(err)
			}
		}
		if err := settling.HoldRef(r); err != nil {
			t.Fatal(err)
		}
		for n := range e.attempts {
			must(t, settling.AttemptRef(r, AttemptRec{N: n + 1, At: at(e.at + time.Millisecond), Status: 503 - 303*(n+1)/e.attempts}))
		}
		early := len(e.acks) - e.lateAcks
		for _, a := range e.acks[:early] {
			must(t, settling.ReceiptRef(r, ok("", a)))
		}
		if e.final != "" {
			must(t, settling.FinalRef(r, Final{State: e.final, Reason: e.reason}))
		}
		for _, a := range e.acks[early:] {
			must(t, settling.ReceiptRef(r, ok("", a)))
		}
		must(t, settling.ReleaseRef(r))
		maxOpen = max(maxOpen, settling.events.n)
	}
	want, got := whole.Result(run), settling.Result(run)
	wj, _ := json.Marshal(want)
	gj, _ := json.Marshal(got)
	if string(wj) != string(gj) {
		t.Fatalf("settling checker's result differs:\n got %s\nwant %s", gj, wj)
	}
	if want.Events.Duplicated == 0 || want.Events.DeadLetteredReceived == 0 || want.Events.Unexpected == 0 ||
		want.Events.Reordered == 0 || want.Events.Lost == 0 || want.Events.Pending == 0 {
		t.Fatalf("the workload misses a case: %+v", want.Events)
	}
	// Open: the events without a phase (placed at Result), those never
	// final (lost, unexpected), and the one being fed.
	open := 0
	for _, e := range evs {
		if (e.accepted && e.phase == "") || e.final == "" {
			open++
		}
	}
	if int(maxOpen) > open+1 {
		t.Fatalf("the settling checker used %d slots for %d events, %d of them never settling", maxOpen, len(evs), open)
	}
	// Result leaves the checker as it was.
	again, _ := json.Marshal(settling.Result(run))
	if string(again) != string(gj) {
		t.Fatal("a second Result differs from the first")
	}
}

func TestSettlingRefs(t *testing.T) {
	c := NewChecker(t0, WithSettling())
	r, _ := c.NewRef("evt_a")
	must(t, c.AcceptRef(r, Accepted{Seq: 1, At: at(0), Phase: "p"}))
	if err := c.ReleaseRef(r); err == nil {
		t.Fatal("releasing an event never held: no error")
	}
	must(t, c.ReceiptRef(r, ok("", time.Millisecond)))
	must(t, c.FinalRef(r, Final{State: StateDelivered}))
	// Settled: the Ref names nothing until a new event takes the slot.
	if err := c.AttemptRef(r, AttemptRec{N: 2, At: at(time.Second)}); err == nil {
		t.Fatal("a record for a settled event's Ref: no error")
	}
	r2, _ := c.NewRef("evt_b")
	if r2 != r {
		t.Fatalf("the settled event's slot was not reused: ref %d, then %d", r, r2)
	}
	// Looking up by id finds the new event in the reused slot.
	if l, err := c.Lookup("evt_b"); err != nil || l != r2 {
		t.Fatalf("Lookup(evt_b) = %d, %v; want %d", l, err, r2)
	}
	res := c.Result(RunInfo{})
	if res.Events.Accepted != 1 || res.Events.Delivered != 1 {
		t.Fatalf("events %+v: want the settled one accepted and delivered", res.Events)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// offset is t.Sub(start) (0 before the start), whether or not start
// carries a monotonic reading.
func TestOffsetIsSub(t *testing.T) {
	wall := time.Date(2026, 1, 1, 0, 0, 0, 500, time.UTC)
	for _, start := range []time.Time{wall, time.Now(), wall.In(time.FixedZone("x", 3600))} {
		c := NewChecker(start)
		for _, d := range []time.Duration{0, 1, time.Second - 1, 90*time.Minute + 3, -time.Second, 200 * 365 * 24 * time.Hour} {
			for _, at := range []time.Time{start.Add(d), start.Round(0).Add(d)} {
				want := max(0, int64(at.Sub(start)))
				if got := c.offset(at); got != want {
					t.Errorf("start %v: offset(%v) = %d, want %d", start, at, got, want)
				}
			}
		}
	}
}

// Events by attempts: counted by index for the usual few attempts and in
// a map past perEventDense, merged and listed in order either way.
func TestAttemptCountsDenseAndRare(t *testing.T) {
	a, b := newTally(0), newTally(0)
	for _, n := range []uint32{1, 1, 3, perEventDense + 44, 1000} {
		a.countAttempts(n, 1)
	}
	b.countAttempts(3, 2)
	b.countAttempts(perEventDense+44, 1)
	b.add(a)
	want := [][2]int64{{1, 2}, {3, 3}, {perEventDense + 44, 2}, {1000, 1}}
	if got := b.attemptCounts(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("attempt counts %v, want %v", got, want)
	}
}
