package virtual

import (
	"context"
	"testing"

	"github.com/hookrig/hookrig/scenarios"
)

// The model's memory follows the pending set, not the run's length or
// the fleet's size: event slots and attempts are reused once final, the
// receivers keep nothing per event beyond their dedupe window, and once
// the drain settles nothing is left in the dispatcher's sets.
func TestFleetMemoryFollowsPending(t *testing.T) {
	s, err := scenarios.Parse([]byte(`
name: memory
seed: 5
load:
  phases:
    - {name: steady, pacer: constant:1000, duration: 20s}
spread: zipf
endpoints:
  - name: healthy
    count: 180
  - name: silent
    count: 10
    faults:
      - name: silent
        fault: {type: blackhole}
  - name: flaky
    count: 10
    faults:
      - name: flaky
        probability: 0.3
        fault: {type: status, code: 503}
drain:
  timeout: 120s
`), "memory.yaml")
	if err != nil {
		t.Fatal(err)
	}
	w, err := newWorld(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	sm := &w.snd
	accepted := int(sm.seq)
	if accepted < 19000 || sm.pending != 0 || w.timedOut {
		t.Fatalf("accepted %d, %d pending (timed out %v): the run should settle", accepted, sm.pending, w.timedOut)
	}
	if sm.slots.len() != sm.peak {
		t.Errorf("%d event slots for a peak of %d pending: slots are not reused", sm.slots.len(), sm.peak)
	}
	if sm.peak > accepted/5 {
		t.Errorf("peak of %d pending of %d accepted: the silent group should hold only a fraction", sm.peak, accepted)
	}
	if len(w.attempts) != w.peakAttempts {
		t.Errorf("%d attempt records for a peak of %d at once: attempts are not reused", len(w.attempts), w.peakAttempts)
	}
	for i, rm := range w.rcvs {
		if rm.ids.len() != 0 {
			t.Errorf("receiver %d keeps %d per-event slots: an ack-first receiver needs none", i, rm.ids.len())
		}
	}
	if sm.inUse != 0 || w.liveAttempts != 0 || sm.inflight != 0 || sm.busyEps != 0 || len(sm.cands) != 0 {
		t.Errorf("after the drain: %d slots in use, %d attempts live, %d in flight on %d endpoints, %d candidates",
			sm.inUse, w.liveAttempts, sm.inflight, sm.busyEps, len(sm.cands))
	}
	if _, ok := sm.nextParked(); ok {
		t.Errorf("an endpoint is still parked with nothing pending")
	}
}
