package verdict

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func id(i int) string { return fmt.Sprintf("evt_%05d", i) }

// feed is a list of records that can be given to a checker in any order.
type feed []func(*Checker) error

func (f *feed) accept(a Accepted) {
	*f = append(*f, func(c *Checker) error { return c.Accept(a) })
}
func (f *feed) attempt(a AttemptRec) {
	*f = append(*f, func(c *Checker) error { c.Attempt(a); return nil })
}
func (f *feed) receipt(r ReceiptRec) {
	*f = append(*f, func(c *Checker) error { c.Receipt(r); return nil })
}
func (f *feed) final(x Final) {
	*f = append(*f, func(c *Checker) error { return c.Final(x) })
}

func (f feed) check(t *testing.T, run RunInfo) *Result {
	t.Helper()
	c := NewChecker(t0)
	for _, fn := range f {
		if err := fn(c); err != nil {
			t.Fatal(err)
		}
	}
	return c.Result(run)
}

func ok(id string, d time.Duration) ReceiptRec {
	return ReceiptRec{ID: id, At: at(d), Status: 200, Verified: true}
}

// Every event's first attempt gets an injected 503, the second a 200.
func TestFirstAttempt503ThenDelivered(t *testing.T) {
	const n = 500
	var f feed
	for i := range n {
		acc := time.Duration(i) * 20 * time.Millisecond
		f.accept(Accepted{ID: id(i), Key: "k", Seq: uint64(i + 1), At: at(acc)})
		f.attempt(AttemptRec{ID: id(i), N: 1, At: at(acc + 10*time.Millisecond), Status: 503, Fault: "status"})
		f.attempt(AttemptRec{ID: id(i), N: 2, At: at(acc + time.Second), Status: 200})
		f.receipt(ok(id(i), acc+time.Second+10*time.Millisecond))
		f.final(Final{ID: id(i), State: StateDelivered, At: at(acc + time.Second)})
	}
	r := f.check(t, RunInfo{Scenario: "flaky", Mode: ModeVirtual, LoadEnd: 10 * time.Second, End: 12 * time.Second})

	want := Events{Accepted: n, Delivered: n}
	if r.Events != want {
		t.Errorf("events = %+v, want %+v", r.Events, want)
	}
	a := r.Attempts
	if a.Total != 2*n || a.Failed != n || a.Faulted != n || a.Unmatched != 0 || a.Amplification != 2 {
		t.Errorf("attempts = %+v, want total %d, failed %d, faulted %d, amplification 2", a, 2*n, n, n)
	}
	pe := a.PerEvent
	if pe.Mean != 2 || pe.P50 != 2 || pe.P99 != 2 || pe.Max != 2 || !slices.Equal(pe.Counts, [][2]int64{{2, n}}) {
		t.Errorf("per event = %+v, want every event at 2", pe)
	}
	d := r.Latency.Delivery
	if d.Count != n || d.Min != 1010 || d.Max != 1010 {
		t.Errorf("delivery = %+v, want %d deliveries of exactly 1010 ms", d, n)
	}
	// HDR keeps 3 significant figures.
	if d.P50 < 1009 || d.P50 > 1010 || d.P99 < 1009 || d.P99 > 1010 {
		t.Errorf("delivery p50/p99 = %v/%v, want 1010 ms within the histogram's precision", d.P50, d.P99)
	}
	if r.Events.Reordered != 0 || r.Ordering.Keys != 1 || r.Ordering.EventsOutOfOrder != 0 {
		t.Errorf("ordering = %+v reordered %d, want one key in order", r.Ordering, r.Events.Reordered)
	}
	if r.Receipts != (Receipts{Total: n, Acknowledged: n}) {
		t.Errorf("receipts = %+v", r.Receipts)
	}
	if !r.Passed || r.Schema != Schema {
		t.Errorf("passed %v schema %q", r.Passed, r.Schema)
	}
}

// K acknowledgements are lost on the way back: the receiver processed the
// event, the sender saw a 502 and retried, the receiver acknowledged again.
func TestLostAcknowledgementsAreExactlyDuplicates(t *testing.T) {
	const n, k = 300, 37
	var f feed
	for i := range n {
		acc := time.Duration(i) * 10 * time.Millisecond
		f.accept(Accepted{ID: id(i), Seq: uint64(i), At: at(acc)})
		if i%8 == 0 && i/8 < k {
			f.attempt(AttemptRec{ID: id(i), N: 1, At: at(acc), Status: 502, Fault: "ack_lost"})
			f.receipt(ok(id(i), acc+time.Millisecond))
			f.attempt(AttemptRec{ID: id(i), N: 2, At: at(acc + 2*time.Second), Status: 200})
			dup := ok(id(i), acc+2*time.Second+time.Millisecond)
			dup.Duplicate = true
			f.receipt(dup)
		} else {
			f.attempt(AttemptRec{ID: id(i), N: 1, At: at(acc), Status: 200})
			f.receipt(ok(id(i), acc+time.Millisecond))
		}
		f.final(Final{ID: id(i), State: StateDelivered})
	}
	r := f.check(t, RunInfo{End: 10 * time.Second})
	if r.Events.Duplicated != k || r.Events.DuplicateDeliveries != k || r.Receipts.Deduplicated != k {
		t.Errorf("duplicated %d, duplicate deliveries %d, deduplicated %d; want %d each",
			r.Events.Duplicated, r.Events.DuplicateDeliveries, r.Receipts.Deduplicated, k)
	}
	if r.Events.Lost != 0 || r.Events.Delivered != n {
		t.Errorf("lost %d delivered %d, want 0 and %d", r.Events.Lost, r.Events.Delivered, n)
	}
	if r.Attempts.Total != n+k || r.Attempts.PerEvent.Max != 2 {
		t.Errorf("attempts %d max %d, want %d and 2", r.Attempts.Total, r.Attempts.PerEvent.Max, n+k)
	}
	// The first acknowledgement is the delivery: 1 ms for everyone.
	if r.Latency.Delivery.Max != 1 {
		t.Errorf("delivery max = %v ms, want 1 (first acknowledgement)", r.Latency.Delivery.Max)
	}
	wantEx := []string{id(0), id(8), id(16), id(24), id(32), id(40), id(48), id(56), id(64), id(72)}
	if !slices.Equal(r.Examples.Duplicated, wantEx) {
		t.Errorf("duplicated examples = %v, want %v", r.Examples.Duplicated, wantEx)
	}
}

// A receiver that answers 200 and does not journal: the sender believes
// every event delivered, the checker finds exactly the dropped ones lost.
func TestReceiverThatDropsAcknowledgedEventsIsCaught(t *testing.T) {
	const n = 400
	var f feed
	var dropped []string
	for i := range n {
		acc := time.Duration(i) * time.Millisecond
		f.accept(Accepted{ID: id(i), Seq: uint64(i), At: at(acc)})
		f.attempt(AttemptRec{ID: id(i), N: 1, At: at(acc), Status: 200})
		f.final(Final{ID: id(i), State: StateDelivered}) // the sender's claim
		if i%13 == 5 {
			dropped = append(dropped, id(i))
			continue
		}
		f.receipt(ok(id(i), acc+time.Millisecond))
	}
	r := f.check(t, RunInfo{End: time.Second})
	if r.Events.Lost != int64(len(dropped)) || r.Events.Delivered != n-int64(len(dropped)) {
		t.Errorf("lost %d delivered %d, want %d and %d", r.Events.Lost, r.Events.Delivered, len(dropped), n-len(dropped))
	}
	if !slices.Equal(r.Examples.Lost, dropped[:DefaultExampleLimit]) {
		t.Errorf("lost examples = %v, want %v", r.Examples.Lost, dropped[:DefaultExampleLimit])
	}
	if r.Attempts.Failed != 0 {
		t.Errorf("failed attempts = %d, want 0 (every attempt got a 200)", r.Attempts.Failed)
	}
}

// Unverified or non-2xx receipts are not deliveries.
func TestRejectedReceiptsAreNotDeliveries(t *testing.T) {
	var f feed
	f.accept(Accepted{ID: "a", At: at(0)})
	f.receipt(ReceiptRec{ID: "a", At: at(time.Second), Status: 200, Verified: false})
	f.receipt(ReceiptRec{ID: "a", At: at(2 * time.Second), Status: 500, Verified: true})
	f.accept(Accepted{ID: "b", At: at(0)})
	f.receipt(ReceiptRec{ID: "b", At: at(time.Second), Status: 401})
	f.receipt(ok("b", 3*time.Second))
	r := f.check(t, RunInfo{End: 5 * time.Second})
	if r.Events.Lost != 1 || r.Events.Delivered != 1 || r.Receipts.Rejected != 3 || r.Receipts.Acknowledged != 1 {
		t.Errorf("events %+v receipts %+v, want a lost and b delivered after 3 rejected receipts", r.Events, r.Receipts)
	}
	if r.Latency.Delivery.Max != 3000 {
		t.Errorf("b's delivery = %v ms, want 3000 (first acknowledged receipt)", r.Latency.Delivery.Max)
	}
}

func TestUnexpectedIDs(t *testing.T) {
	var f feed
	f.accept(Accepted{ID: "real", At: at(0)})
	f.receipt(ok("real", time.Second))
	f.receipt(ok("forged-2", 3*time.Second))
	f.receipt(ok("forged-1", 2*time.Second))
	f.receipt(ReceiptRec{ID: "forged-1", At: at(4 * time.Second), Status: 401})
	f.receipt(ReceiptRec{At: at(5 * time.Second), Status: 400}) // no id at all
	f.attempt(AttemptRec{ID: "stray", At: at(time.Second), Status: 200})
	r := f.check(t, RunInfo{End: 6 * time.Second})
	if r.Events.Unexpected != 3 || r.Receipts.Unexpected != 4 {
		t.Errorf("unexpected events %d receipts %d, want 3 and 4", r.Events.Unexpected, r.Receipts.Unexpected)
	}
	if !slices.Equal(r.Examples.Unexpected, []string{"forged-1", "forged-2"}) {
		t.Errorf("unexpected examples = %v, want in arrival order", r.Examples.Unexpected)
	}
	if r.Events.Accepted != 1 || r.Events.Delivered != 1 || r.Attempts.Unmatched != 1 || r.Attempts.Total != 0 {
		t.Errorf("events %+v attempts %+v", r.Events, r.Attempts)
	}
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "no webhook id") {
		t.Errorf("notes = %q, want one about the receipt without an id", r.Notes)
	}
}

// After the drain: pending is the sender still trying; no word from the
// sender, or its unbacked "delivered", is a loss.
func TestPendingDeadLetteredAndLostAfterDrain(t *testing.T) {
	var f feed
	for i := range 10 {
		f.accept(Accepted{ID: id(i), Seq: uint64(i), At: at(0)})
	}
	f.final(Final{ID: id(0), State: StatePending})
	f.final(Final{ID: id(1), State: StatePending})
	f.final(Final{ID: id(2), State: StateDeadLettered, Reason: "max attempts"})
	f.final(Final{ID: id(3), State: StateDeadLettered, Reason: "max attempts"})
	f.final(Final{ID: id(4), State: StateDeadLettered, Reason: "410 gone"})
	f.final(Final{ID: id(5), State: StateDelivered}) // never received: lost
	// id(6): nothing at all: lost
	f.receipt(ok(id(7), time.Second)) // delivered, the sender is still unsure
	f.final(Final{ID: id(7), State: StatePending})
	f.receipt(ok(id(8), time.Second)) // delivered, acknowledgement lost, sender gave up
	f.final(Final{ID: id(8), State: StateDeadLettered, Reason: "max attempts"})
	f.receipt(ok(id(9), time.Second))
	f.final(Final{ID: "never-accepted", State: StatePending})
	r := f.check(t, RunInfo{End: 2 * time.Second, DrainTimedOut: true})

	want := Events{Accepted: 10, Delivered: 3, Lost: 2, DeadLettered: 3, Pending: 2, DeadLetteredReceived: 1}
	if r.Events != want {
		t.Errorf("events = %+v, want %+v", r.Events, want)
	}
	e := r.Events
	if e.Delivered+e.Lost+e.DeadLettered+e.Pending != e.Accepted {
		t.Errorf("categories do not partition the accepted events: %+v", e)
	}
	if !slices.Equal(r.Examples.Pending, []string{id(0), id(1)}) || !slices.Equal(r.Examples.Lost, []string{id(5), id(6)}) ||
		!slices.Equal(r.Examples.DeadLettered, []string{id(2), id(3), id(4)}) {
		t.Errorf("examples = %+v", r.Examples)
	}
	wantReasons := []ReasonCount{{"max attempts", 3}, {"410 gone", 1}}
	if !slices.Equal(r.DeadLetterReasons, wantReasons) {
		t.Errorf("reasons = %v, want %v", r.DeadLetterReasons, wantReasons)
	}
	if !r.Run.DrainTimedOut || len(r.Notes) != 1 {
		t.Errorf("drain timed out %v, notes %q", r.Run.DrainTimedOut, r.Notes)
	}
}

func TestDeadLetterReasonsAreBounded(t *testing.T) {
	var f feed
	for i := range maxReasons + 50 {
		f.accept(Accepted{ID: id(i), At: at(0)})
		f.final(Final{ID: id(i), State: StateDeadLettered, Reason: fmt.Sprintf("status %d", i)})
	}
	r := f.check(t, RunInfo{})
	var total, other int64
	for _, rc := range r.DeadLetterReasons {
		total += rc.Count
		if rc.Reason == otherReasons {
			other = rc.Count
		}
	}
	// Two slots are reserved: the empty reason and the catch-all.
	if total != maxReasons+50 || other != 52 || len(r.DeadLetterReasons) != maxReasons-1 {
		t.Errorf("%d reasons summing to %d, %d other; want %d, %d, 52", len(r.DeadLetterReasons), total, other, maxReasons-1, maxReasons+50)
	}
}

func TestBadRecordsAreErrors(t *testing.T) {
	c := NewChecker(t0)
	if err := c.Accept(Accepted{At: t0}); err == nil {
		t.Error("accepting an event without an id succeeded")
	}
	err := c.Final(Final{ID: "x", State: "done"})
	if err == nil || !strings.Contains(err.Error(), `"done"`) || !strings.Contains(err.Error(), "dead_lettered") {
		t.Errorf("bad final state: err = %v, want one naming the state and the expected ones", err)
	}
	if err := c.Final(Final{State: StatePending}); err == nil {
		t.Error("final without an id succeeded")
	}
}

// bruteInversions counts pairs the slow way.
func bruteInversions(a []int64) (inv, late int64) {
	for j := range a {
		out := false
		for i := range j {
			if a[i] > a[j] {
				inv++
				out = true
			}
		}
		if out {
			late++
		}
	}
	return inv, late
}

func TestCountInversionsAgainstBruteForce(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		n := rnd.IntN(70)
		a := make([]int64, n)
		for i := range a {
			a[i] = rnd.Int64N(int64(1 + trial%20)) // many ties in early trials
		}
		want, _ := bruteInversions(a)
		b := slices.Clone(a)
		if got := countInversions(b, make([]int64, n)); got != want {
			t.Fatalf("countInversions(%v) = %d, want %d", a, got, want)
		}
		if !slices.IsSorted(b) {
			t.Fatalf("countInversions left %v unsorted", b)
		}
	}
}

func TestReorderingAgainstBruteForce(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 7))
	for trial := range 20 {
		n, keys := 50+rnd.IntN(400), 1+rnd.IntN(6)
		var f feed
		byKey := map[string][]int64{} // first-ack offsets in acceptance order
		seqs := rnd.Perm(n)
		type ev struct {
			seq int
			key string
			ack int64
		}
		evs := make([]ev, n)
		for i := range n {
			k := fmt.Sprintf("key-%d", rnd.IntN(keys))
			ack := int64(rnd.IntN(n/2)) * int64(time.Millisecond) // ties in receive time are not inversions
			evs[i] = ev{seqs[i], k, ack}
			f.accept(Accepted{ID: id(i), Key: k, Seq: uint64(seqs[i]), At: at(0)})
			// A later acknowledgement must not change the first.
			f.receipt(ok(id(i), time.Duration(ack)+time.Hour))
			f.receipt(ok(id(i), time.Duration(ack)))
		}
		slices.SortFunc(evs, func(x, y ev) int { return x.seq - y.seq })
		for _, e := range evs {
			byKey[e.key] = append(byKey[e.key], e.ack)
		}
		var wantInv, wantLate, wantKeys int64
		for _, acks := range byKey {
			inv, late := bruteInversions(acks)
			wantInv += inv
			wantLate += late
			if inv > 0 {
				wantKeys++
			}
		}
		rand.Shuffle(len(f), func(i, j int) { f[i], f[j] = f[j], f[i] })
		r := f.check(t, RunInfo{End: 2 * time.Hour})
		if r.Events.Reordered != wantInv || r.Ordering.EventsOutOfOrder != wantLate || r.Ordering.KeysReordered != wantKeys {
			t.Fatalf("trial %d: reordered %d, out of order %d, keys %d; want %d, %d, %d",
				trial, r.Events.Reordered, r.Ordering.EventsOutOfOrder, r.Ordering.KeysReordered, wantInv, wantLate, wantKeys)
		}
		if r.Ordering.Keys != int64(len(byKey)) {
			t.Fatalf("keys = %d, want %d", r.Ordering.Keys, len(byKey))
		}
	}
}

func TestEventsWithoutKeyPromiseNoOrder(t *testing.T) {
	var f feed
	for i := range 5 {
		f.accept(Accepted{ID: id(i), Seq: uint64(i), At: at(0)})
		f.receipt(ok(id(i), time.Duration(5-i)*time.Second)) // fully reversed
	}
	r := f.check(t, RunInfo{End: 6 * time.Second})
	if r.Events.Reordered != 0 || r.Ordering.Keys != 0 {
		t.Errorf("reordered %d keys %d, want 0 for events without a key", r.Events.Reordered, r.Ordering.Keys)
	}
}

// syntheticFeed is a run with phases, a fault window and every category.
func syntheticFeed(seed uint64, n int) (feed, RunInfo) {
	return syntheticShard(seed, n, func(int) bool { return true })
}

// syntheticShard is the part of syntheticFeed whose events keep accepts
// (the stranger's receipt is event -1).
func syntheticShard(seed uint64, n int, keep func(i int) bool) (feed, RunInfo) {
	rnd := rand.New(rand.NewPCG(seed, 99))
	var all feed
	for i := range n {
		var f feed
		acc := time.Duration(i) * 40 * time.Second / time.Duration(n)
		phase := ""
		if i%2 == 0 { // half the records name their phase, half are placed by time
			phase = "warmup"
			if acc >= 20*time.Second {
				phase = "steady"
			}
		}
		f.accept(Accepted{ID: id(i), Key: fmt.Sprintf("k%d", i%7), Seq: uint64(i), At: at(acc), Phase: phase})
		tries := 1 + rnd.IntN(3)
		if acc >= 10*time.Second && acc < 20*time.Second {
			tries += 2 // the outage
		}
		last := acc
		for a := 1; a <= tries; a++ {
			last += time.Duration(rnd.IntN(3000)) * time.Millisecond
			status := 500
			if a == tries {
				status = 200
			}
			f.attempt(AttemptRec{ID: id(i), N: a, At: at(last), Status: status})
		}
		switch {
		case i%97 == 3:
			f.final(Final{ID: id(i), State: StateDeadLettered, Reason: "max attempts"})
		case i%89 == 4:
			f.final(Final{ID: id(i), State: StatePending})
		case i%83 == 5:
			// lost
		default:
			f.receipt(ok(id(i), last-acc+acc+time.Millisecond))
			if i%31 == 0 {
				f.receipt(ok(id(i), last+time.Second))
			}
		}
		if keep(i) {
			all = append(all, f...)
		}
	}
	if keep(-1) {
		all.receipt(ok("stranger", 3*time.Second))
	}
	run := RunInfo{
		Scenario: "synthetic", Mode: ModeVirtual, Seed: seed, TraceHash: "abc123",
		LoadEnd: 40 * time.Second, End: 55 * time.Second,
		Phases: []PhaseWindow{{"warmup", 0, 20 * time.Second}, {"steady", 20 * time.Second, 40 * time.Second}},
		Faults: []FaultWindow{{Rule: "outage", Fault: "refuse", Start: 10 * time.Second, End: 20 * time.Second},
			{Rule: "blip", Fault: "status", Start: 30500 * time.Millisecond, End: 33250 * time.Millisecond}},
	}
	return all, run
}

func marshal(t *testing.T, r *Result) []byte {
	t.Helper()
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The JSON does not depend on the order records arrive in, nor on calling
// Result more than once.
func TestResultIsIndependentOfRecordOrder(t *testing.T) {
	f, run := syntheticFeed(1, 2000)
	want := marshal(t, f.check(t, run))
	for trial := range 3 {
		g := slices.Clone(f)
		rnd := rand.New(rand.NewPCG(uint64(trial), 5))
		rnd.Shuffle(len(g), func(i, j int) { g[i], g[j] = g[j], g[i] })
		c := NewChecker(t0)
		for _, fn := range g {
			if err := fn(c); err != nil {
				t.Fatal(err)
			}
		}
		first := marshal(t, c.Result(run))
		again := marshal(t, c.Result(run))
		if !bytes.Equal(first, want) || !bytes.Equal(again, want) {
			t.Fatalf("trial %d: JSON differs with the records shuffled (or on a second Result call)", trial)
		}
	}
	if bytes.Contains(want, []byte("2026")) {
		t.Error("the JSON holds a wall-clock date")
	}
}

func TestPhasesTable(t *testing.T) {
	f, run := syntheticFeed(3, 1000)
	r := f.check(t, run)
	if len(r.Phases) != 2 || r.Phases[0].Name != "warmup" || r.Phases[1].Name != "steady" {
		t.Fatalf("phases = %+v, want warmup and steady in the run's order", r.Phases)
	}
	var sum PhaseResult
	for _, p := range r.Phases {
		sum.addCounts(p)
		if p.Accepted != 500 {
			t.Errorf("phase %s accepted %d, want 500 (20 s of 40 s at a constant rate)", p.Name, p.Accepted)
		}
		if p.P50Ms <= 0 || p.P99Ms < p.P50Ms || p.MaxMs < p.P99Ms || p.HdrUs == "" {
			t.Errorf("phase %s latency p50 %v p99 %v max %v", p.Name, p.P50Ms, p.P99Ms, p.MaxMs)
		}
	}
	e := r.Events
	if sum.Accepted != e.Accepted || sum.Delivered != e.Delivered || sum.Lost != e.Lost || sum.Duplicated != e.Duplicated ||
		sum.DeadLettered != e.DeadLettered || sum.Pending != e.Pending {
		t.Errorf("phase rows sum to %+v, events are %+v", sum, e)
	}
	if r.Phases[0].StartS != 0 || r.Phases[0].EndS != 20 {
		t.Errorf("warmup window = %v..%v", r.Phases[0].StartS, r.Phases[0].EndS)
	}
}

func TestThunderingHerdAfterFaultWindow(t *testing.T) {
	var f feed
	// 10 attempts/s for 20 s, none while the endpoint is down (10..20 s),
	// then the backlog: 80 in second 20, 30 in second 21, 10/s after.
	rate := func(s int) int {
		switch {
		case s >= 10 && s < 20:
			return 0
		case s == 20:
			return 80
		case s == 21:
			return 30
		}
		return 10
	}
	n := 0
	for s := range 30 {
		for j := range rate(s) {
			f.attempt(AttemptRec{ID: id(n), At: at(time.Duration(s)*time.Second + time.Duration(j)*time.Millisecond), Status: 200})
			n++
		}
	}
	run := RunInfo{End: 30 * time.Second, Faults: []FaultWindow{{Rule: "down", Fault: "refuse", Start: 10 * time.Second, End: 20 * time.Second}}}
	r := f.check(t, run)
	// Per 100 ms after the close: the 80 in the first step of second
	// 20, the 30 in that of 21, then 10 a second.
	after := make([]int64, 100)
	after[0], after[10] = 80, 30
	for j := 20; j < 100; j += 10 {
		after[j] = 10
	}
	want := FaultResult{Rule: "down", Fault: "refuse", StartS: 10, EndS: 20, RateBefore: 10, PeakRateAfter: 80, PeakAtS: 20, HerdRatio: 8,
		AfterAttempts: after}
	if len(r.Faults) != 1 || !reflect.DeepEqual(r.Faults[0], want) {
		t.Fatalf("faults = %+v, want %+v", r.Faults, want)
	}
	if r.Herd != (Herd{PeakRate: 80, Ratio: 8, Rule: "down"}) {
		t.Errorf("herd = %+v", r.Herd)
	}
	if r.Attempts.Unmatched != int64(n) {
		t.Errorf("unmatched = %d, want %d (nothing was accepted)", r.Attempts.Unmatched, n)
	}
}

func TestLongRunTimelineIsCoarse(t *testing.T) {
	var f feed
	day := 24 * time.Hour
	for i := range 2000 {
		acc := time.Duration(i) * (day - time.Hour) / 2000
		f.accept(Accepted{ID: id(i), At: at(acc)})
		f.attempt(AttemptRec{ID: id(i), At: at(acc + time.Minute), Status: 200})
		f.receipt(ok(id(i), acc+time.Minute))
	}
	r := f.check(t, RunInfo{End: day})
	tl := r.Timeline
	if tl.StepS != 120 || len(tl.Accepted) != 720 {
		t.Fatalf("step %d s, %d buckets; want 120 s and 720", tl.StepS, len(tl.Accepted))
	}
	total := func(s []int64) (n int64) {
		for _, v := range s {
			n += v
		}
		return n
	}
	if total(tl.Accepted) != 2000 || total(tl.Attempted) != 2000 || total(tl.Delivered) != 2000 || total(tl.Failed) != 0 {
		t.Errorf("timeline totals %d %d %d %d, want 2000 2000 2000 0", total(tl.Accepted), total(tl.Attempted), total(tl.Delivered), total(tl.Failed))
	}
	if r.Latency.Delivery.P50 != 60000 {
		t.Errorf("p50 = %v ms, want 60000", r.Latency.Delivery.P50)
	}
}

func TestProgress(t *testing.T) {
	c := NewChecker(t0)
	c.Receipt(ok("a", time.Second)) // before its acceptance is known
	if p := c.Progress(); p.Delivered != 0 || p.Receipts != 1 {
		t.Errorf("progress = %+v", p)
	}
	_ = c.Accept(Accepted{ID: "a", At: t0})
	_ = c.Accept(Accepted{ID: "b", At: t0})
	c.Attempt(AttemptRec{ID: "b", At: t0})
	c.Receipt(ok("b", time.Second))
	c.Receipt(ok("b", 2*time.Second))
	if p := c.Progress(); p != (Progress{Accepted: 2, Delivered: 2, Attempts: 1, Receipts: 3, Open: 2}) {
		t.Errorf("progress = %+v", p)
	}
}

func TestEmptyRun(t *testing.T) {
	r := NewChecker(t0).Result(RunInfo{Scenario: "empty"})
	b := marshal(t, r)
	if bytes.Contains(b, []byte("null")) {
		t.Errorf("empty result has null lists:\n%s", b)
	}
	if err := r.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func BenchmarkChecker(b *testing.B) {
	// One event a loop: accept, two attempts, one receipt; Result at the end.
	ids := make([]string, b.N)
	for i := range ids {
		ids[i] = fmt.Sprintf("msg_%012d", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	c := NewChecker(t0)
	for i := range b.N {
		acc := time.Duration(i) * time.Millisecond
		_ = c.Accept(Accepted{ID: ids[i], Key: ids[i][:9], Seq: uint64(i), At: at(acc)})
		c.Attempt(AttemptRec{ID: ids[i], N: 1, At: at(acc), Status: 503})
		c.Attempt(AttemptRec{ID: ids[i], N: 2, At: at(acc + time.Second), Status: 200})
		c.Receipt(ok(ids[i], acc+time.Second))
	}
	c.Result(RunInfo{End: time.Duration(b.N) * time.Millisecond})
}

// A window that closes mid-second (3.25 s): the storm right after it falls
// in second 3, which also holds the end of the window. Measured from whole
// seconds after the close it was missed (second 4 holds only the steady
// 10); measured over 1 s windows from the close it is found.
func TestHerdAfterAWindowClosingMidSecond(t *testing.T) {
	var f feed
	n := 0
	add := func(from time.Duration, count int, every time.Duration) {
		for j := range count {
			f.attempt(AttemptRec{ID: id(n), At: at(from + time.Duration(j)*every), Status: 200})
			n++
		}
	}
	add(0, 10, 10*time.Millisecond)                    // 10 in second 0: the rate before
	add(3*time.Second, 5, 40*time.Millisecond)         // 5 failing while still open, 3.00-3.16 s
	add(3250*time.Millisecond, 60, 3*time.Millisecond) // the storm: 60 in 3.250-3.427 s
	for s := 4; s < 8; s++ {
		add(time.Duration(s)*time.Second, 10, 10*time.Millisecond) // then 10/s, early in each second
	}
	run := RunInfo{End: 8 * time.Second, Faults: []FaultWindow{{Rule: "down", Fault: "refuse", Start: time.Second, End: 3250 * time.Millisecond}}}
	fr := f.check(t, run).Faults[0]
	// [3.25, 4.25) holds the storm and second 4's ten; no later window holds more.
	if fr.PeakRateAfter != 70 || fr.PeakAtS != 3.25 || fr.RateBefore != 10 || fr.HerdRatio != 7 {
		t.Errorf("peak %v at %v s, rate before %v, herd %v; want 70 at 3.25 s, 10, 7", fr.PeakRateAfter, fr.PeakAtS, fr.RateBefore, fr.HerdRatio)
	}
	// 47 steps of 100 ms from 3.25 s to the run's end at 8 s: the storm
	// in the first two, each second's ten across the steps either side
	// of the second's start (4.00-4.04 s in [3.95, 4.05), 4.05-4.09 s in
	// the next).
	want := make([]int64, 47)
	want[0], want[1] = 34, 26
	for j := 7; j < 47; j += 10 {
		want[j], want[j+1] = 5, 5
	}
	if !reflect.DeepEqual(fr.AfterAttempts, want) {
		t.Errorf("after = %v\nwant    %v", fr.AfterAttempts, want)
	}
}

// A storm later than the first 10 s after the close is still found, in
// the whole seconds of the timeline; and a window that closes less than a
// second before the next opens is still measured over one second.
func TestHerdLaterStormAndShortGap(t *testing.T) {
	var f feed
	n := 0
	add := func(from time.Duration, count int) {
		for j := range count {
			f.attempt(AttemptRec{ID: id(n), At: at(from + time.Duration(j)*time.Millisecond), Status: 200})
			n++
		}
	}
	add(0, 4)
	add(3300*time.Millisecond, 20) // after "down", in its first second
	add(15*time.Second, 50)        // after "down", 11.75 s after its close
	add(21500*time.Millisecond, 9) // after "blip", which is followed 0.4 s later by "again"
	run := RunInfo{End: 30 * time.Second, Faults: []FaultWindow{
		{Rule: "down", Fault: "refuse", Start: time.Second, End: 3250 * time.Millisecond},
		{Rule: "blip", Fault: "status", Start: 20 * time.Second, End: 21600 * time.Millisecond},
		{Rule: "again", Fault: "status", Start: 22 * time.Second, End: 23 * time.Second},
	}}
	r := f.check(t, run)
	down, blip := r.Faults[0], r.Faults[1]
	if down.PeakRateAfter != 50 || down.PeakAtS != 15 || len(down.AfterAttempts) != 100 {
		t.Errorf("down: peak %v at %v s over %d steps; want 50 at 15 s over 100", down.PeakRateAfter, down.PeakAtS, len(down.AfterAttempts))
	}
	if blip.PeakRateAfter != 0 || blip.PeakAtS != 21.6 || len(blip.AfterAttempts) != 10 {
		t.Errorf("blip: peak %v at %v s over %d steps; want 0 at 21.6 s over 10", blip.PeakRateAfter, blip.PeakAtS, len(blip.AfterAttempts))
	}
	if r.Herd.Rule != "down" || r.Herd.PeakRate != 50 {
		t.Errorf("herd = %+v", r.Herd)
	}
}

// Tick counts grow chunk by chunk and read back across a chunk's edge; a
// tick never reached reads 0, and the herd series sums across the edge.
func TestTickCountsAcrossChunks(t *testing.T) {
	var tc tickCounts
	for _, k := range []int64{0, tickChunk - 1, tickChunk, tickChunk - 1, 3*tickChunk + 5} {
		*tc.at(k)++
	}
	for k, want := range map[int64]uint32{0: 1, 1: 0, tickChunk - 1: 2, tickChunk: 1, 2 * tickChunk: 0, 3*tickChunk + 5: 1, 4 * tickChunk: 0, -1: 0} {
		if got := tc.get(k); got != want {
			t.Errorf("tick %d: %d, want %d", k, got, want)
		}
	}
	if len(tc.chunks) != 4 || tc.chunks[2] != nil {
		t.Errorf("%d chunks for ticks up to 3 chunks and 5, want 4, the third never allocated", len(tc.chunks))
	}
	// A window closing one herd step before the edge: its first step
	// holds the ticks on both sides.
	end := time.Duration(tickChunk-ticksPerStep/2) * herdTick
	ws := []FaultWindow{{Rule: "r", Start: end - time.Second, End: end}}
	s := afterSeries(ws, &tc, int64(4*tickChunk/ticksPerSecond))
	var sum int64
	for _, v := range s[0] {
		sum += v
	}
	if sum < 3 {
		t.Errorf("series %v after the window: want the 3 attempts at the edge counted", s[0][:min(len(s[0]), 4)])
	}
}
