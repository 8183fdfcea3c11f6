package virtual

import (
	"bytes"
	"context"
	"encoding/json"
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
	// The checker has folded every settled event away (its per-event
	// state follows the pending set too), and the Result still counts
	// them all.
	if p := w.chk.Progress(); p.Open != 0 || p.Accepted != int64(accepted) {
		t.Errorf("checker after the drain: %d events open, %d accepted (want 0 and %d)", p.Open, p.Accepted, accepted)
	}
	if res := w.result(); res.Events.Accepted != int64(accepted) || res.Events.Delivered+res.Events.DeadLettered != int64(accepted) {
		t.Errorf("result events %+v for %d accepted", res.Events, accepted)
	}
}

// Each group asks only the rules that can fire for its endpoints
// (plan.GroupRules); the run is the one asking every rule gives.
func TestGroupedRulesDecideAsAllRules(t *testing.T) {
	s, err := scenarios.Parse([]byte(`
name: grouped
seed: 9
load:
  phases:
    - {name: steady, pacer: constant:200, duration: 10s}
endpoints:
  - name: healthy
    count: 20
  - name: flaky
    count: 5
    faults:
      - name: flaky
        probability: 0.3
        match: attempt < 3
        fault: {type: status, code: 503}
  - name: dup
    count: 5
    faults:
      - name: twice
        probability: 0.2
        fault: {type: duplicate}
faults:
  - name: wide
    probability: 0.05
    fault: {type: status, code: 500}
drain:
  timeout: 120s
`), "grouped.yaml")
	if err != nil {
		t.Fatal(err)
	}
	run := func(grouped bool) []byte {
		w, err := newWorld(s, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if w.byGroup == nil || !w.ruleHeaders {
			t.Fatalf("grouped rules %v, headers built %v: want both", w.byGroup != nil, w.ruleHeaders)
		}
		if !grouped {
			w.byGroup = nil // every attempt asks all the rules
		}
		if err := w.run(context.Background()); err != nil {
			t.Fatal(err)
		}
		res := w.result()
		if res.Events.Duplicated == 0 || res.Attempts.Faulted == 0 {
			t.Fatalf("events %+v, attempts %+v: the faults did not show", res.Events, res.Attempts)
		}
		b, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	grouped := run(true)
	if all := run(false); !bytes.Equal(grouped, all) {
		t.Fatalf("asking each group's rules gives another run than asking all:\n%s\n%s", grouped, all)
	}
}
