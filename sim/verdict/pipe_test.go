package verdict_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookrig/hookrig/sim/verdict"
)

// pipeStep is one step of a made-up run: a record about event ev.
type pipeStep struct {
	kind   string // new, accept, hold, attempt, receipt, release, final
	ev     int
	status int
	state  string
	at     time.Time
}

// pipeScript makes n events with overlapping lives: each is accepted,
// tried up to three times (an attempt is held while on the wire, and a
// receipt may come for it, also after the event's final state), and ends
// delivered, dead-lettered, pending or not at all (it stays open), in an
// order drawn from seed.
func pipeScript(n int, seed uint64) []pipeStep {
	r := rand.New(rand.NewPCG(seed, 1))
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type life struct {
		ev          int
		left        int // attempts still to make
		onWire      bool
		final, done bool
	}
	var steps []pipeStep
	var open []*life
	next, clock := 0, 0
	at := func() time.Time { clock++; return start.Add(time.Duration(clock) * time.Millisecond) }
	for next < n || len(open) > 0 {
		if next < n && (len(open) < 40 || r.IntN(4) == 0) {
			steps = append(steps, pipeStep{kind: "new", ev: next}, pipeStep{kind: "accept", ev: next, at: at()})
			open = append(open, &life{ev: next, left: 1 + r.IntN(3)})
			next++
			continue
		}
		k := r.IntN(len(open))
		l := open[k]
		switch {
		case l.onWire:
			if r.IntN(3) > 0 {
				steps = append(steps, pipeStep{kind: "receipt", ev: l.ev, status: []int{200, 200, 503}[r.IntN(3)], at: at()})
			}
			steps = append(steps, pipeStep{kind: "release", ev: l.ev})
			l.onWire = false
		case l.left > 0 && !l.final:
			l.left--
			steps = append(steps, pipeStep{kind: "hold", ev: l.ev},
				pipeStep{kind: "attempt", ev: l.ev, status: []int{200, 503}[r.IntN(2)], at: at()})
			l.onWire = true
			if r.IntN(5) == 0 { // final while the attempt is still out
				l.final = true
				steps = append(steps, pipeStep{kind: "final", ev: l.ev, state: verdict.StateDelivered, at: at()})
			}
		case !l.final && r.IntN(20) == 0:
			l.done = true // no final state: it stays open
		case !l.final:
			l.final = true
			state := []string{verdict.StateDelivered, verdict.StateDeadLettered, verdict.StatePending}[r.IntN(3)]
			steps = append(steps, pipeStep{kind: "final", ev: l.ev, state: state, at: at()})
		default:
			l.done = true
		}
		if l.done || (l.final && !l.onWire) {
			open[k] = open[len(open)-1]
			open = open[:len(open)-1]
		}
	}
	return steps
}

// A Checker fed through a Pipe ends as one fed directly: the same Result
// to the byte, the same Progress at every Sync; and the Pipe's Refs are
// handed out again once their events settle (its highest Ref stays below
// the events there were, far below).
func TestPipeRecordsAsTheCheckerDoes(t *testing.T) {
	const events = 60000
	steps := pipeScript(events, 7)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	direct := verdict.NewChecker(start, verdict.WithSettling())
	piped := verdict.NewChecker(start, verdict.WithSettling())
	p := piped.Pipe()
	dref := make([]verdict.Ref, events)
	pref := make([]verdict.Ref, events)
	maxRef := verdict.Ref(0)
	for i, s := range steps {
		id := "evt_" + strconv.Itoa(s.ev)
		var err error
		switch s.kind {
		case "new":
			dref[s.ev], err = direct.NewRef(id)
			pref[s.ev] = p.NewRef(id)
			maxRef = max(maxRef, pref[s.ev])
		case "accept":
			a := verdict.Accepted{Key: "k" + strconv.Itoa(s.ev%5), Seq: uint64(s.ev + 1), At: s.at, Phase: "steady"}
			err = direct.AcceptRef(dref[s.ev], a)
			p.Accept(pref[s.ev], a)
		case "hold":
			err = direct.HoldRef(dref[s.ev])
			p.Hold(pref[s.ev])
		case "attempt":
			a := verdict.AttemptRec{N: 1, At: s.at, Status: s.status}
			err = direct.AttemptRef(dref[s.ev], a)
			p.Attempt(pref[s.ev], a)
		case "receipt":
			rec := verdict.ReceiptRec{At: s.at, Status: s.status, Verified: true}
			err = direct.ReceiptRef(dref[s.ev], rec)
			p.Receipt(pref[s.ev], rec)
		case "release":
			err = direct.ReleaseRef(dref[s.ev])
			p.Release(pref[s.ev])
		case "final":
			f := verdict.Final{State: s.state, At: s.at}
			err = direct.FinalRef(dref[s.ev], f)
			p.Final(pref[s.ev], f)
		}
		if err != nil {
			t.Fatalf("step %d %+v: the checker refused it: %v", i, s, err)
		}
		if i%50000 == 0 {
			if err := p.Sync(); err != nil {
				t.Fatalf("step %d: Sync: %v", i, err)
			}
			if d, q := direct.Progress(), piped.Progress(); d != q {
				t.Fatalf("step %d: progress %+v through the pipe, %+v direct", i, q, d)
			}
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	run := verdict.RunInfo{Scenario: "pipe", Mode: verdict.ModeVirtual, End: time.Minute}
	want, err := json.Marshal(direct.Result(run))
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(piped.Result(run))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("result through the pipe differs:\n%s\nwant\n%s", got, want)
	}
	if pr := direct.Progress(); pr.Accepted != events || pr.Open == 0 || pr.Open == events {
		t.Fatalf("progress %+v: want every event accepted, some settled and some open (pending)", pr)
	}
	if maxRef >= events/2 {
		t.Errorf("highest Ref %d for %d events: the Pipe does not hand settled Refs out again", maxRef, events)
	}
}

// What the Checker refuses surfaces at Sync and again at Close; Close
// twice is fine.
func TestPipeReportsRefusals(t *testing.T) {
	c := verdict.NewChecker(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), verdict.WithSettling())
	p := c.Pipe()
	r := p.NewRef("evt_1")
	p.Accept(r, verdict.Accepted{Seq: 1})
	if err := p.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	p.Release(r)                               // never held
	p.Attempt(r+100, verdict.AttemptRec{N: 1}) // no such Ref
	err := p.Sync()
	if err == nil || !strings.Contains(err.Error(), "released more often than held") {
		t.Fatalf("Sync = %v, want the first refusal, the release", err)
	}
	if !strings.Contains(err.Error(), "release record, pipe ref 0") {
		t.Errorf("Sync = %v: want the record and its Ref named", err)
	}
	if err2 := p.Close(); err2 == nil || err2.Error() != err.Error() {
		t.Fatalf("Close = %v, want %v", err2, err)
	}
	if err3 := p.Close(); err3 == nil {
		t.Fatal("a second Close lost the error")
	}
	if pr := c.Progress(); pr.Accepted != 1 {
		t.Fatalf("progress %+v, want the one event", pr)
	}
}

// A record about a Ref that names no event is refused, and the records
// after it, of the same kind too, still go to their own events.
func TestPipeRefusesUnknownRefsAndGoesOn(t *testing.T) {
	c := verdict.NewChecker(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), verdict.WithSettling())
	p := c.Pipe()
	r := p.NewRef("evt_1")
	p.Accept(r+7, verdict.Accepted{Seq: 9}) // no such Ref
	p.Accept(r, verdict.Accepted{Seq: 1})
	p.Attempt(r+7, verdict.AttemptRec{N: 1, Status: 503})
	p.Attempt(r, verdict.AttemptRec{N: 1, Status: 200})
	err := p.Close()
	if err == nil || !strings.Contains(err.Error(), "accept record about pipe ref 7, which names no event") {
		t.Fatalf("Close = %v, want the first record about ref 7 refused", err)
	}
	res := c.Result(verdict.RunInfo{Scenario: "pipe", Mode: verdict.ModeVirtual, End: time.Minute})
	if res.Events.Accepted != 1 || res.Attempts.Total != 1 || res.Attempts.Failed != 0 {
		t.Fatalf("events %+v, attempts %+v: want evt_1's own acceptance and 200 only", res.Events, res.Attempts)
	}
}
