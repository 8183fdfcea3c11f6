package virtual

import (
	"math/rand/v2"
	"net/http"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/hookrig/hookrig/chaos/fault"
	"github.com/hookrig/hookrig/reference/receiver"
	"github.com/hookrig/hookrig/scenarios"
)

// The simulator decides faults with fault.Decider (no allocation per
// request); it must decide exactly as the proxy does, with Rules.Act and
// RequestRand: the same rule, the same drawn Action.
func TestDeciderDecidesAsTheProxy(t *testing.T) {
	p := 0.4
	rules, err := fault.Compile([]fault.RuleSpec{
		{Name: "late", Match: `attempt > 2`, Fault: []byte(`{"type": "reset"}`)},
		{Name: "flaky", Probability: &p, Fault: []byte(`{"type": "status", "code": 503}`), After: fault.Duration(time.Second)},
		{Name: "slow", Probability: &p, Fault: []byte(`{"type": "latency", "distribution": "lognormal", "median": "200ms", "sigma": 0.5}`)},
		{Name: "acks", Match: `event_id endsWith "7"`, Fault: []byte(`{"type": "ack_lost"}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	const seed = 99
	d := fault.NewDecider(seed)
	fired := map[string]int{}
	for i := range 2000 {
		r := fault.Request{Method: http.MethodPost, Path: "/webhooks", EventID: "evt_99_" + strconv.Itoa(i/3), Attempt: 1 + i%4}
		elapsed := time.Duration(i) * time.Millisecond
		wantAct, wantRule := rules.Act(r, elapsed, fault.RequestRand(seed, r, 0))
		gotAct, gotRule := d.Act(rules, &r, 0, elapsed)
		if gotRule != wantRule || !reflect.DeepEqual(gotAct, wantAct) {
			t.Fatalf("request %d: decider %v %+v, proxy %v %+v", i, gotRule, gotAct, wantRule, wantAct)
		}
		if gotRule != nil {
			fired[gotRule.Name()]++
		}
	}
	if len(fired) != 4 {
		t.Errorf("rules fired %v: the test should exercise all four", fired)
	}
	if rules.ReadsBody() {
		t.Error("no rule reads the body")
	}
	withBody, err := fault.Compile([]fault.RuleSpec{{Name: "b", Match: `body.type == "x"`, Fault: []byte(`{"type": "reset"}`)}})
	if err != nil || !withBody.ReadsBody() {
		t.Errorf("a rule on body.type reads the body (%v)", err)
	}
}

// The ready queue pops in (due, seq) order whatever the mix of in-order
// runs and stragglers pushed into it: each pop is checked against the
// least entry of a plain list holding the same entries.
func TestReadyQueueOrder(t *testing.T) {
	var q readyQueue
	runs := checkReadyOrder(t, q.push, q.top, q.pop, &q)
	if q.len() != 0 || q.nruns != 0 {
		t.Errorf("emptied, the queue holds %d entries in %d runs: empty runs should be trimmed", q.len(), q.nruns)
	}
	if runs < 2 {
		t.Errorf("at most %d runs: the test should exercise several", runs)
	}
}

// The endpoint's ready events (one held in the endpoint, the rest in its
// queue) pop in the same order.
func TestEndpointReadyOrder(t *testing.T) {
	var ep endpointModel
	top := func() readyEntry {
		e, ok := ep.readyTop()
		if !ok {
			t.Fatal("readyTop found nothing in a queue that holds entries")
		}
		return e
	}
	checkReadyOrder(t, ep.readyPush, top, ep.readyPop, nil)
	if _, ok := ep.readyTop(); ok || ep.queued != 0 {
		t.Errorf("emptied, the endpoint still has a ready entry (%d queued)", ep.queued)
	}
}

// checkReadyOrder pushes in-order streams and stragglers, popping now
// and then, and checks each pop against the least entry of a plain list
// holding the same entries; it returns the most runs q (when not nil)
// held at once.
func checkReadyOrder(t *testing.T, push func(readyEntry), top func() readyEntry, pop func(), q *readyQueue) (runs int) {
	t.Helper()
	var list []readyEntry
	rnd := rand.New(rand.NewPCG(1, 2))
	var seq uint64
	sawHeap, pops := false, 0
	for round := range 200 {
		// Seventeen in-order streams (a schedule's steps) and noise.
		for s := range 20 {
			seq++
			due := int64(round*10 + s*1000)
			if s >= 17 {
				due = rnd.Int64N(300000)
			}
			e := readyEntry{due: due, seq: seq, slot: int32(seq)}
			push(e)
			list = append(list, e)
		}
		if q != nil {
			sawHeap = sawHeap || len(q.heap) > 0
			runs = max(runs, q.nruns)
		}
		n := rnd.IntN(25)
		if round == 199 {
			n = len(list)
		}
		for ; n > 0 && len(list) > 0; n-- {
			least := 0
			for j := range list {
				if readyLess(&list[j], &list[least]) {
					least = j
				}
			}
			if got := top(); got != list[least] {
				t.Fatalf("pop %d: got %+v, want %+v", pops, got, list[least])
			}
			pop()
			pops++
			list = append(list[:least], list[least+1:]...)
		}
	}
	if pops != int(seq) {
		t.Fatalf("popped %d of %d", pops, seq)
	}
	if q != nil && !sawHeap {
		t.Errorf("the heap was never used: the test should exercise it")
	}
	return runs
}

func TestReceiverModelDedupeWindow(t *testing.T) {
	k := newKernel(1)
	ms := int64(time.Millisecond)
	rm := newReceiverModel(receiverConfig(time.Second), DefaultModel(), k)
	if a := rm.receive(3, 3, "/webhooks", 0); a.status != 200 || a.duplicate {
		t.Fatalf("first: %+v", a)
	}
	if a := rm.receive(3, 3, "/webhooks", 500*ms); a.status != 200 || !a.duplicate {
		t.Fatalf("within the TTL: %+v", a)
	}
	if a := rm.receive(3, 3, "/webhooks", 1000*ms); a.duplicate {
		t.Fatalf("a TTL later the id is forgotten: %+v", a)
	}
	rm.window = receiver.NewNumberedWindow(time.Second, 2) // a window of two ids
	rm.receive(3, 3, "/webhooks", 1099*ms)
	rm.receive(10, 10, "/webhooks", 1100*ms)
	rm.receive(11, 11, "/webhooks", 1101*ms) // evicts 3 (the oldest claim)
	if a := rm.receive(3, 3, "/webhooks", 1102*ms); a.duplicate {
		t.Fatalf("evicted by size: %+v", a)
	}
	if rm.window.Evictions() < 2 {
		t.Errorf("evictions %d", rm.window.Evictions())
	}
}

// Processing after the ack queues behind the receiver's workers; a full
// queue answers 503 with Retry-After before acknowledging.
func TestReceiverModelQueue(t *testing.T) {
	k := newKernel(1)
	rm := newReceiverModel(receiverConfig(0), DefaultModel(), k)
	rm.duration, rm.async, rm.workers, rm.queueCap = int64(time.Second), true, 2, 3
	rm.lastEnds = make([]int64, 2)
	for n := range uint64(3) {
		if a := rm.receive(n, n, "/webhooks", 0); a.status != 200 {
			t.Fatalf("event %d: %+v", n, a)
		}
	}
	if a := rm.receive(7, 7, "/webhooks", 0); a.status != http.StatusServiceUnavailable || a.retryAfter != "1" {
		t.Fatalf("a full queue: %+v", a)
	}
	if a := rm.receive(1, 1, "/webhooks", 0); a.status != 200 || !a.duplicate {
		t.Fatalf("a duplicate needs no room: %+v", a)
	}
	// Two workers: jobs 0 and 1 end at 1 s (plus the ack), job 2 at 2 s.
	if a := rm.receive(7, 7, "/webhooks", int64(time.Second)+2*rm.ack); a.status != 200 {
		t.Fatalf("room again after a second: %+v", a)
	}
}

func receiverConfig(ttl time.Duration) scenarios.Receiver { return scenarios.Receiver{DedupeTTL: ttl} }
