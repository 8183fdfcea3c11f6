package delivery

import (
	"testing"
	"time"
)

func TestBreakerTransitions(t *testing.T) {
	b := BreakerPolicy{Failures: 3, Cooldown: 30 * time.Second}
	type step struct {
		at     time.Duration // since t0
		allow  *bool         // Allow, when set
		record *bool         // Record(ok), when set
		phase  BreakerPhase  // after the step
		until  time.Duration // OpenUntil after the step, when set
	}
	yes, no := true, false
	steps := []step{
		{at: 0, allow: &yes, phase: BreakerClosed},
		{at: 1, record: &no, phase: BreakerClosed},
		{at: 2, record: &no, phase: BreakerClosed},
		{at: 3, record: &yes, phase: BreakerClosed}, // a success resets the count
		{at: 4, record: &no, phase: BreakerClosed},
		{at: 5, record: &no, phase: BreakerClosed},
		{at: 6, record: &no, phase: BreakerOpen, until: 36}, // third in a row: open until 6s+30s
		{at: 7, allow: &no, phase: BreakerOpen},
		{at: 8, record: &yes, phase: BreakerOpen}, // a late result of an attempt started before: ignored
		{at: 35, allow: &no, phase: BreakerOpen},
		{at: 36, allow: &yes, phase: BreakerHalfOpen},        // the probe
		{at: 36, allow: &no, phase: BreakerHalfOpen},         // only one
		{at: 40, record: &no, phase: BreakerOpen, until: 70}, // probe failed: open again until 70s
		{at: 69, allow: &no, phase: BreakerOpen},
		{at: 70, allow: &yes, phase: BreakerHalfOpen},
		{at: 71, record: &yes, phase: BreakerClosed}, // probe succeeded
		{at: 72, allow: &yes, phase: BreakerClosed},
		{at: 73, record: &no, phase: BreakerClosed}, // the count starts again
	}
	var s BreakerState
	for i, st := range steps {
		now := t0.Add(st.at * time.Second)
		if st.allow != nil {
			var ok bool
			ok, s = b.Allow(s, now)
			if ok != *st.allow {
				t.Fatalf("step %d: Allow = %v, want %v (%+v)", i, ok, *st.allow, s)
			}
		}
		if st.record != nil {
			s = b.Record(s, *st.record, now)
		}
		if s.Phase != st.phase {
			t.Fatalf("step %d: phase %v, want %v (%+v)", i, s.Phase, st.phase, s)
		}
		if st.until != 0 && !s.OpenUntil.Equal(t0.Add(st.until*time.Second)) {
			t.Fatalf("step %d: open until %v, want +%ds", i, s.OpenUntil, st.until)
		}
	}
	if s.Opened != 2 || s.Failures != 1 {
		t.Fatalf("final state %+v, want opened twice and one failure counted", s)
	}
}

func TestBreakerOff(t *testing.T) {
	b := BreakerPolicy{}
	var s BreakerState
	for i := range 100 {
		s = b.Record(s, false, t0)
		if ok, _ := b.Allow(s, t0); !ok || s.Phase != BreakerClosed {
			t.Fatalf("failure %d: a breaker with Failures 0 opened", i)
		}
	}
}

func TestLanes(t *testing.T) {
	var l Lanes
	a, b := LaneKey{"ep1", "a"}, LaneKey{"ep1", "b"}
	other := LaneKey{"ep2", "a"} // same key, other endpoint: another lane
	for _, c := range []struct {
		k    LaneKey
		seq  uint64
		head bool
	}{{a, 1, true}, {a, 2, false}, {b, 3, true}, {a, 4, false}, {other, 5, true}, {a, 6, false}} {
		if got := l.Add(c.k, c.seq); got != c.head {
			t.Fatalf("Add(%v, %d) head = %v", c.k, c.seq, got)
		}
	}
	if l.Waiting() != 3 {
		t.Fatalf("waiting %d, want 3", l.Waiting())
	}
	// A non-head leaving (e.g. its endpoint was deleted) frees nobody.
	if _, ok := l.Done(a, 4); ok {
		t.Fatal("removing a non-head promoted someone")
	}
	if next, ok := l.Done(a, 1); !ok || next != 2 {
		t.Fatalf("after head 1: next %d %v, want 2", next, ok)
	}
	if next, ok := l.Done(a, 2); !ok || next != 6 {
		t.Fatalf("after head 2: next %d %v, want 6", next, ok)
	}
	if _, ok := l.Done(a, 6); ok {
		t.Fatal("empty lane promoted someone")
	}
	if _, ok := l.Done(a, 99); ok {
		t.Fatal("unknown seq promoted someone")
	}
	if l.Add(a, 7) != true {
		t.Fatal("a drained lane starts afresh")
	}
}

// Allow and Record are the breaker's steps by value, for the tests
// above; the live dispatcher and the model take them through Admit and
// Settle, in place.
//
// Allow says whether an attempt may start at now. Letting the first
// attempt through after the cooldown moves the circuit to half-open; that
// attempt is the probe, and nothing else passes until it is recorded.
func (b BreakerPolicy) Allow(s BreakerState, now time.Time) (bool, BreakerState) {
	ok, probe := b.allow(&s, now)
	if probe {
		s.takeProbe()
	}
	return ok, s
}

// Record updates the circuit with an attempt's result; ok is false when
// the outcome was an endpoint failure. A result arriving while the circuit
// is open belongs to an attempt started before it opened and is ignored.
func (b BreakerPolicy) Record(s BreakerState, ok bool, now time.Time) BreakerState {
	b.record(&s, ok, now)
	return s
}
