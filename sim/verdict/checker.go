// The delivery checker, modelled on Jepsen's total-queue checker: after
// the drain it joins what was accepted, the attempts and the receipts
// (plus the sender's final word on each event) and classifies every event
// as delivered, lost, dead-lettered or pending, with duplicates,
// unexpected ids, reordering and time to delivery on top.

package verdict

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultExampleLimit is how many example ids a Result lists per category.
const DefaultExampleLimit = 10

// MaxTimelineBuckets bounds the JSON timeline: a longer run gets a coarser
// step (2 s, 5 s, ... 1 day) rather than more buckets.
const MaxTimelineBuckets = 1000

// maxTimelineSeconds bounds the per-second counters: a record later than
// this after the start is counted in the last second (and noted).
const maxTimelineSeconds = 30 * 24 * 3600

// maxReasons bounds the distinct dead-letter reasons kept; the rest are
// counted together.
const maxReasons = 1000

const otherReasons = "(other reasons)"

// Checker joins a run's records into a Result. Feed it records in any
// order and from any goroutine, as they happen or after the drain; then
// call Result. It keeps about 120 bytes per open event (its state, its id
// and the index entry), three counters per second of the run and attempts
// per 10 ms (400 bytes a second, for the retry storm after a fault window,
// whose close need not fall on a whole second), never the records
// themselves. Every event is open until Result, unless the feeder says
// when an event's records are all in (WithSettling): then a settled event
// is folded into running tallies (tally.go) and forgotten, and the
// checker's memory follows the events still open.
type Checker struct {
	mu    sync.Mutex
	start time.Time
	// wallStart says start carries no monotonic reading (a virtual
	// run's), so offset may work on seconds and nanoseconds: startUnix
	// and startNsec are start's.
	wallStart bool
	startUnix int64
	startNsec int64
	limit     int

	index  map[string]int32 // event id -> position in events
	events eventTable
	// indexed is how many of events are in index: NewRef adds events
	// without indexing them, and the next lookup by id indexes the rest.
	indexed int32

	keys    names[int32]
	phases  names[int16]
	reasons names[uint16]
	// groups are a fleet's groups (Accepted.Group); groupSec counts each
	// group's attempts per second, for its herd.
	groups   names[int16]
	groupSec [][]uint32

	perSec []secCounts
	// perTick counts attempts per herdTick: the herd is measured over 1 s
	// windows that start at a fault window's close, wherever it falls.
	perTick tickCounts

	receipts       Receipts // Unexpected is worked out in Result
	noIDReceipts   int64
	noIDAttempts   int64
	earlyRecords   int64 // stamped before the start
	lateRecords    int64 // beyond maxTimelineSeconds
	acceptedCount  int64
	deliveredCount int64
	attemptsCount  int64
	endpoint       endpointTally
	disables       []DisableResult
	// answers says the feeder records the endpoint's answers (Answer)
	// rather than leaving them to be read off the attempts.
	answers bool
	// settling says a final state with no holds settles its event
	// (WithSettling); folded is what the settled events add up to.
	settling bool
	folded   *tally
}

// eventState is everything the checker keeps about one id. Times are
// nanoseconds since the run started.
type eventState struct {
	seq        uint64
	acceptedAt int64
	firstAck   int64 // valid when acks > 0
	firstSeen  int64 // valid when receipts > 0
	attempts   uint32
	failed     uint32
	faulted    uint32
	acks       uint32
	receipts   uint32
	key        int32 // -1: no ordering key
	phase      int16 // -1: place by time
	group      int16 // -1: no fleet group
	reason     uint16
	final      finalState
	accepted   bool
	// live says the slot holds an event (slots of settled events are
	// reused); holds counts the feeder's holds on it (HoldRef).
	live  bool
	holds uint32
}

type finalState uint8

const (
	finalNone finalState = iota
	finalDelivered
	finalDeadLettered
	finalPending
)

type secCounts struct {
	accepted, attempted, failed uint32
}

// CheckerOption configures a Checker.
type CheckerOption func(*Checker)

// WithCapacity sizes the checker for about n events up front, sparing the
// id index its growth.
func WithCapacity(n int) CheckerOption {
	return func(c *Checker) { c.index = make(map[string]int32, max(n, 0)) }
}

// WithAnswers says the feeder records every request the endpoint was
// sent with Answer, so the attempts do not stand for them.
func WithAnswers() CheckerOption {
	return func(c *Checker) { c.answers = true }
}

// WithSettling says the feeder knows when an event's records are all in:
// an event settles once its final state is recorded and no hold on it
// (HoldRef) is left, and the checker then folds it into its tallies and
// forgets it, its Ref free to name a later event. A feeder that may
// record anything about an event after its final state (a receipt of a
// copy still on the wire, a dead letter that may be replayed) holds the
// event until it cannot. An event with no phase stays open until Result,
// which places it by time in the run's phase windows. A live run, whose
// records come from several processes in any order, does without: its
// events stay open until Result, which folds them the same way.
func WithSettling() CheckerOption {
	return func(c *Checker) { c.settling = true }
}

// WithExampleLimit sets how many example ids each category lists.
func WithExampleLimit(n int) CheckerOption {
	return func(c *Checker) { c.limit = max(n, 0) }
}

// NewChecker returns a checker for a run that started at start; every
// record's time is taken relative to it.
func NewChecker(start time.Time, opts ...CheckerOption) *Checker {
	c := &Checker{
		start:     start,
		wallStart: start == start.Round(0), // Round(0) strips the monotonic reading
		startUnix: start.Unix(),
		startNsec: int64(start.Nanosecond()),
		limit:     DefaultExampleLimit,
		index:     make(map[string]int32),
		keys:      names[int32]{limit: math.MaxInt32},
		phases:    names[int16]{limit: math.MaxInt16},
		groups:    names[int16]{limit: math.MaxInt16},
		reasons:   names[uint16]{limit: maxReasons},
	}
	// Reserved up front: the empty reason and the catch-all for reasons
	// past the limit.
	c.reasons.intern("")
	c.reasons.intern(otherReasons)
	for _, o := range opts {
		o(c)
	}
	c.folded = newTally(c.limit)
	return c
}

// Accept records an accepted event. The same id again is the same event
// (idempotent ingest): the first acceptance stands.
func (c *Checker) Accept(a Accepted) error {
	if a.ID == "" {
		return errors.New("sim: accepted event has no id")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.accept(c.entry(a.ID), &a)
}

func (c *Checker) accept(i int32, a *Accepted) error {
	e := c.events.at(i)
	if e.accepted {
		return nil
	}
	phase, key := int16(-1), int32(-1)
	var ok bool
	if a.Phase != "" {
		if phase, ok = c.phases.intern(a.Phase); !ok {
			return fmt.Errorf("sim: event %s: more than %d phases", c.events.id(i), c.phases.limit)
		}
	}
	if a.Key != "" {
		if key, ok = c.keys.intern(a.Key); !ok {
			return fmt.Errorf("sim: event %s: more than %d ordering keys", c.events.id(i), c.keys.limit)
		}
	}
	group := int16(-1)
	if a.Group != "" {
		if group, ok = c.groups.intern(a.Group); !ok {
			return fmt.Errorf("sim: event %s: more than %d fleet groups", c.events.id(i), c.groups.limit)
		}
	}
	e.group = group
	e.accepted = true
	e.seq = a.Seq
	e.acceptedAt = c.offset(a.At)
	e.key = key
	e.phase = phase
	c.second(e.acceptedAt).accepted++
	c.acceptedCount++
	if e.acks > 0 {
		c.deliveredCount++
	}
	return nil
}

// Attempt records one delivery attempt.
func (c *Checker) Attempt(a AttemptRec) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.attempt(c.position(a.ID), &a)
}

// attempt records a at event position i (-1: the attempt carried no id).
func (c *Checker) attempt(i int32, a *AttemptRec) {
	failed := a.Failed()
	off := c.offset(a.At)
	s := c.second(off)
	s.attempted++
	*c.tick(off)++
	if failed {
		s.failed++
	}
	c.attemptsCount++
	// An injected fault is the scenario's doing, an interrupted attempt
	// the sender's (it stopped mid-request): neither is the endpoint's.
	if !c.answers && a.Fault == "" && a.Err != "interrupted" && a.Err != "canceled" {
		c.endpoint.add(Answer{At: a.At, Duration: a.Duration, Status: a.Status, Err: a.Err})
	}
	if i < 0 {
		c.noIDAttempts++
		return
	}
	e := c.events.at(i)
	if e.accepted && e.group >= 0 {
		// An attempt recorded before its event's acceptance is in the
		// group's figures but not in its herd: feeders accept first.
		c.groupSecond(e.group, off)
	}
	e.attempts++
	if failed {
		e.failed++
	}
	if a.Fault != "" {
		e.faulted++
	}
}

// Answer records one request the endpoint was sent and its answer.
func (c *Checker) Answer(a Answer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.endpoint.add(a)
}

// Disable records the sender switching the endpoint off.
func (c *Checker) Disable(d Disable) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.disables = append(c.disables, DisableResult{AtS: seconds(time.Duration(c.offset(d.At))), Reason: d.Reason})
}

// Receipt records one request the receiving end saw.
func (c *Checker) Receipt(r ReceiptRec) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.receipt(c.position(r.ID), &r)
}

// receipt records r at event position i (-1: it carried no id).
func (c *Checker) receipt(i int32, r *ReceiptRec) {
	ack := r.Acknowledged()
	c.receipts.Total++
	if ack {
		c.receipts.Acknowledged++
	} else {
		c.receipts.Rejected++
	}
	if r.Duplicate {
		c.receipts.Deduplicated++
	}
	if i < 0 {
		c.noIDReceipts++
		return
	}
	off := c.offset(r.At)
	e := c.events.at(i)
	if e.receipts == 0 || off < e.firstSeen {
		e.firstSeen = off
	}
	e.receipts++
	if !ack {
		return
	}
	if e.acks == 0 || off < e.firstAck {
		e.firstAck = off
	}
	e.acks++
	if e.acks == 1 && e.accepted {
		c.deliveredCount++
	}
}

// Final records the sender's last word on an event; a later one for the
// same id replaces it.
func (c *Checker) Final(f Final) error {
	if f.ID == "" {
		return errors.New("sim: final state has no event id")
	}
	st, err := finalOf(f.ID, f.State)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.final(c.entry(f.ID), st, f.Reason)
	return nil
}

func finalOf(id, state string) (finalState, error) {
	switch state {
	case StateDelivered:
		return finalDelivered, nil
	case StateDeadLettered:
		return finalDeadLettered, nil
	case StatePending:
		return finalPending, nil
	}
	return finalNone, fmt.Errorf("sim: event %s: unknown final state %q (expected %s, %s or %s)",
		id, state, StateDelivered, StateDeadLettered, StatePending)
}

func (c *Checker) final(i int32, st finalState, reason string) {
	e := c.events.at(i)
	e.final = st
	e.reason = 0
	if st == finalDeadLettered {
		e.reason = c.internReason(reason)
	}
	c.settle(i)
}

// settle folds the event at i into the tallies and frees its slot, if the
// feeder settles events (WithSettling) and this one is: final, unheld,
// and placed in a phase of its own (placing by time needs the run's
// windows, which come with Result).
func (c *Checker) settle(i int32) {
	e := c.events.at(i)
	if !c.settling || e.final == finalNone || e.holds > 0 || (e.accepted && e.phase < 0) {
		return
	}
	id := c.events.id(i)
	c.folded.fold(e, id, nil)
	if i < c.indexed {
		if j, ok := c.index[id]; ok && j == i {
			delete(c.index, id)
		}
	}
	c.events.free(i)
}

// HoldRef says a record about the event at r may still come after its
// final state (an attempt of it still on the wire, whose copies may yet
// be received): with WithSettling it does not settle until every hold is
// released (ReleaseRef).
func (c *Checker) HoldRef(r Ref) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.holdRef(r)
}

// ReleaseRef takes back one HoldRef; the event settles if it is final.
func (c *Checker) ReleaseRef(r Ref) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.releaseRef(r)
}

// Ref is an event's place in a Checker. A feeder that records many things
// about the same events (the virtual engine records every attempt and
// receipt of millions) names the event once, with Lookup or NewRef, and
// passes the Ref to the *Ref methods, which then skip the id index: they
// do what Accept, Attempt, Receipt and Final do, ignoring the record's ID.
type Ref int32

// Lookup returns id's Ref, adding the id if it is new.
func (c *Checker) Lookup(id string) (Ref, error) {
	if id == "" {
		return 0, errors.New("sim: no event id to look up")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return Ref(c.entry(id)), nil
}

// NewRef adds an id the checker has not seen and returns its Ref, without
// the id index: a feeder that names every record of the event by its Ref
// (and makes its ids unique itself) spares the index a lookup per event,
// the costliest part of recording millions of them. Should a record name
// the id later, the index catches up then. An id given twice makes two
// events: check for that before, or use Lookup. The id is kept as given
// (not copied): pass a string of its own, not a slice of a larger buffer.
// A Ref names its event until the event settles (WithSettling).
func (c *Checker) NewRef(id string) (Ref, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.newRef(id)
}

// AcceptRef is Accept for the event at r.
func (c *Checker) AcceptRef(r Ref, a Accepted) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.acceptRef(r, &a)
}

// AttemptRef is Attempt for the event at r.
func (c *Checker) AttemptRef(r Ref, a AttemptRec) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.attemptRef(r, &a)
}

// ReceiptRef is Receipt for the event at r.
func (c *Checker) ReceiptRef(r Ref, rec ReceiptRec) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.receiptRef(r, &rec)
}

// FinalRef is Final for the event at r.
func (c *Checker) FinalRef(r Ref, f Final) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.finalRef(r, &f)
}

// The *Ref methods' work, the caller holding the lock or being the only
// writer (a Pipe's applier). (Records pass by pointer, not through a closure: a
// closure taking the record's address would move every record to the
// heap.)

func (c *Checker) newRef(id string) (Ref, error) {
	if id == "" {
		return 0, errors.New("sim: no event id to add")
	}
	i := c.events.add(id)
	if i < c.indexed {
		// A settled event's slot, below the indexed ones: index it now.
		c.index[id] = i
	}
	return Ref(i), nil
}

func (c *Checker) holdRef(r Ref) error {
	i, err := c.ref(r)
	if err == nil {
		c.events.at(i).holds++
	}
	return err
}

func (c *Checker) releaseRef(r Ref) error {
	i, err := c.ref(r)
	if err != nil {
		return err
	}
	e := c.events.at(i)
	if e.holds == 0 {
		return fmt.Errorf("sim: event %s: released more often than held", c.events.id(i))
	}
	e.holds--
	c.settle(i)
	return nil
}

func (c *Checker) acceptRef(r Ref, a *Accepted) error {
	i, err := c.ref(r)
	if err != nil {
		return err
	}
	return c.accept(i, a)
}

func (c *Checker) attemptRef(r Ref, a *AttemptRec) error {
	i, err := c.ref(r)
	if err == nil {
		c.attempt(i, a)
	}
	return err
}

func (c *Checker) receiptRef(r Ref, rec *ReceiptRec) error {
	i, err := c.ref(r)
	if err == nil {
		c.receipt(i, rec)
	}
	return err
}

func (c *Checker) finalRef(r Ref, f *Final) error {
	i, err := c.ref(r)
	if err != nil {
		return err
	}
	st, err := finalOf(c.events.id(i), f.State)
	if err == nil {
		c.final(i, st, f.Reason)
	}
	return err
}

// ref is r's position.
func (c *Checker) ref(r Ref) (int32, error) {
	if r < 0 || int32(r) >= c.events.n || !c.events.at(int32(r)).live {
		return 0, fmt.Errorf("sim: no event at checker ref %d", r)
	}
	return int32(r), nil
}

// Progress is a cheap running count for progress displays.
type Progress struct {
	Accepted  int64 // events accepted so far
	Delivered int64 // accepted events acknowledged at least once
	Attempts  int64
	Receipts  int64
	// Open is how many events the checker keeps (every one seen, unless
	// settled events are folded away: WithSettling).
	Open int64
}

// Progress returns the running counts without working out a Result.
func (c *Checker) Progress() Progress {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Progress{
		Accepted:  c.acceptedCount,
		Delivered: c.deliveredCount,
		Attempts:  c.attemptsCount,
		Receipts:  c.receipts.Total,
		Open:      int64(c.events.n) - int64(len(c.events.vacant)),
	}
}

// position is entry, or -1 for a record that carried no id.
func (c *Checker) position(id string) int32 {
	if id == "" {
		return -1
	}
	return c.entry(id)
}

// entry returns the position of id's state, adding it if new. The id is
// cloned so a record's id may point into a larger buffer.
func (c *Checker) entry(id string) int32 {
	for ; c.indexed < c.events.n; c.indexed++ {
		if c.events.at(c.indexed).live {
			c.index[c.events.id(c.indexed)] = c.indexed
		}
	}
	if i, ok := c.index[id]; ok {
		return i
	}
	id = strings.Clone(id)
	i := c.events.add(id)
	c.index[id] = i
	c.indexed = c.events.n
	return i
}

// eventTable stores event states in fixed-size chunks: growing it never
// copies what is there, and the states (pointer-free) stay apart from the
// ids so the garbage collector does not scan them. The slots of settled
// events are reused.
type eventTable struct {
	states [][]eventState
	ids    [][]string
	n      int32 // slots ever used
	vacant []int32
}

const chunkBits = 12

func (t *eventTable) add(id string) int32 {
	fresh := eventState{key: -1, phase: -1, group: -1, live: true}
	if k := len(t.vacant); k > 0 {
		i := t.vacant[k-1]
		t.vacant = t.vacant[:k-1]
		*t.at(i) = fresh
		t.ids[i>>chunkBits][i&(1<<chunkBits-1)] = id
		return i
	}
	if t.n&(1<<chunkBits-1) == 0 {
		t.states = append(t.states, make([]eventState, 0, 1<<chunkBits))
		t.ids = append(t.ids, make([]string, 0, 1<<chunkBits))
	}
	last := len(t.states) - 1
	t.states[last] = append(t.states[last], fresh)
	t.ids[last] = append(t.ids[last], id)
	t.n++
	return t.n - 1
}

// free empties slot i for a later event.
func (t *eventTable) free(i int32) {
	*t.at(i) = eventState{}
	t.ids[i>>chunkBits][i&(1<<chunkBits-1)] = ""
	t.vacant = append(t.vacant, i)
}

func (t *eventTable) at(i int32) *eventState { return &t.states[i>>chunkBits][i&(1<<chunkBits-1)] }
func (t *eventTable) id(i int32) string      { return t.ids[i>>chunkBits][i&(1<<chunkBits-1)] }

func (c *Checker) internReason(r string) uint16 {
	if r == "" {
		r = "(no reason given)"
	}
	if i, ok := c.reasons.intern(r); ok {
		return i
	}
	return c.reasons.index[otherReasons]
}

// names numbers distinct strings in the order they are first seen.
type names[I int16 | int32 | uint16] struct {
	index map[string]I
	list  []string
	limit int
}

// intern returns s's number, adding s if new; false when s is new and
// there are limit names already.
func (n *names[I]) intern(s string) (I, bool) {
	if len(n.list) <= fewNames {
		// A run has a phase or two and a few groups, named on every
		// acceptance: comparing with each (most often the very same
		// string) is cheaper than hashing.
		for i, name := range n.list {
			if name == s {
				return I(i), true
			}
		}
	} else if i, ok := n.index[s]; ok {
		return i, true
	}
	if len(n.list) >= n.limit {
		return 0, false
	}
	if n.index == nil {
		n.index = make(map[string]I)
	}
	s = strings.Clone(s)
	i := I(len(n.list))
	n.index[s] = i
	n.list = append(n.list, s)
	return i, true
}

// fewNames is how many names intern compares one by one rather than
// look up.
const fewNames = 8

// offset is t's nanoseconds since the start, 0 for a time before it.
func (c *Checker) offset(t time.Time) int64 {
	var d int64
	if s := t.Unix() - c.startUnix; c.wallStart && s > -1<<32 && s < 1<<32 {
		// What Sub works out without a monotonic reading on both sides,
		// where it cannot overflow, without its overflow check: a
		// virtual run records millions of times.
		d = s*int64(time.Second) + int64(t.Nanosecond()) - c.startNsec
	} else {
		d = int64(t.Sub(c.start))
	}
	if d < 0 {
		c.earlyRecords++
		return 0
	}
	return d
}

// second returns the counters of the second holding offset off, growing
// the timeline as the run goes on.
func (c *Checker) second(off int64) *secCounts {
	s := off / int64(time.Second)
	if s >= maxTimelineSeconds {
		c.lateRecords++
		s = maxTimelineSeconds - 1
	}
	for int64(len(c.perSec)) <= s {
		c.perSec = append(c.perSec, secCounts{})
	}
	return &c.perSec[s]
}

// tick returns the attempt counter of the herdTick holding offset off
// (within the timeline's bound, as second).
func (c *Checker) tick(off int64) *uint32 {
	return c.perTick.at(min(off/int64(herdTick), maxTimelineSeconds*ticksPerSecond-1))
}

// Result works out the guarantees from everything recorded so far. It
// leaves the checker as it was, so it may be called again after more
// records.
func (c *Checker) Result(run RunInfo) *Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := newResultWork(c, run)
	w.classify()
	w.order()
	res := w.result()
	res.normalize()
	return res
}

// resultWork holds the intermediate tallies of one Result computation.
type resultWork struct {
	c   *Checker
	run RunInfo
	res *Result
	// t is the settled events' tally plus the events still open.
	t *tally

	phases  []phaseTally
	phaseOf []int // checker phase index -> row in phases

	fleet *fleetWork // nil with one endpoint
}

// phaseTally is one row of the phases section and what counts in it.
type phaseTally struct {
	row  PhaseResult
	fold rowFold
}

func newResultWork(c *Checker, run RunInfo) *resultWork {
	w := &resultWork{
		c:     c,
		run:   run,
		res:   &Result{Schema: Schema, Passed: true},
		t:     newTally(c.limit),
		fleet: newFleetWork(c, run),
	}
	w.t.add(c.folded)
	// Phase rows: the run's windows in their order, then phases named only
	// by records, by name.
	rowOf := map[string]int{}
	for _, p := range run.Phases {
		if _, dup := rowOf[p.Name]; dup {
			continue
		}
		rowOf[p.Name] = len(w.phases)
		w.phases = append(w.phases, phaseTally{row: PhaseResult{Name: p.Name, StartS: seconds(p.Start), EndS: seconds(p.End)}})
	}
	extra := slices.Sorted(func(yield func(string) bool) {
		for _, n := range c.phases.list {
			if _, ok := rowOf[n]; !ok && !yield(n) {
				return
			}
		}
	})
	for _, n := range extra {
		rowOf[n] = len(w.phases)
		w.phases = append(w.phases, phaseTally{row: PhaseResult{Name: n}})
	}
	w.phaseOf = make([]int, len(c.phases.list))
	for i, n := range c.phases.list {
		w.phaseOf[i] = rowOf[n]
	}
	return w
}

// window is the run's phase window an event without a phase of its own
// counts in: the last one that had started when it was accepted
// (acceptance can lag a little behind the load that caused it).
func (w *resultWork) window(e *eventState) int {
	row := 0
	for i, p := range w.run.Phases {
		if int64(p.Start) <= e.acceptedAt {
			row = i
		}
	}
	return row
}

// phaseOfWindow maps a run.Phases index to its row (duplicates of a name
// share the first row).
func (w *resultWork) phaseOfWindow(i int) int {
	name := w.run.Phases[i].Name
	for r, p := range w.phases {
		if p.row.Name == name {
			return r
		}
	}
	return 0
}

// classify folds the events still open into the tally, then lays the
// tally out as the events, attempts and phases sections.
func (w *resultWork) classify() {
	c, t := w.c, w.t
	// Events without a phase of their own count in the run's window of
	// their acceptance, or, when the run has no windows but phase rows
	// exist, in a row of their own.
	windows := make([]rowFold, len(w.run.Phases))
	var unplaced rowFold
	anyRows := len(w.phases) > 0
	for i := range c.events.n {
		e := c.events.at(i)
		if !e.live {
			continue
		}
		var place *rowFold
		if e.accepted && e.phase < 0 {
			switch {
			case len(windows) > 0:
				place = &windows[w.window(e)]
			case anyRows:
				place = &unplaced
			}
		}
		t.fold(e, c.events.id(i), place)
	}
	for i := range t.phases {
		w.phases[w.phaseOf[i]].fold.add(&t.phases[i])
	}
	for i := range windows {
		w.phases[w.phaseOfWindow(i)].fold.add(&windows[i])
	}
	if unplaced.Accepted > 0 {
		w.phases = append(w.phases, phaseTally{row: PhaseResult{Name: "(none)"}, fold: unplaced})
	}
	w.res.Events = t.ev
	w.res.Events.Unexpected += c.noIDReceipts
	w.res.Receipts.Unexpected = t.unexpectedReceipts + c.noIDReceipts
	w.res.Attempts.Total, w.res.Attempts.Failed, w.res.Attempts.Faulted = t.attempts, t.failed, t.faulted
	w.res.Attempts.Unmatched = t.unmatched + c.noIDAttempts
}

// order counts reordering: per key, inversions between the accepted
// order and the order of first acknowledgements.
func (w *resultWork) order() {
	c := w.c
	items := w.t.ordered
	slices.SortFunc(items, func(x, y orderItem) int {
		// Not cmp.Or: it would compare the ids every time.
		if x.key != y.key {
			return cmp.Compare(x.key, y.key)
		}
		if x.seq != y.seq {
			return cmp.Compare(x.seq, y.seq)
		}
		if x.at != y.at {
			return cmp.Compare(x.at, y.at)
		}
		return strings.Compare(x.id, y.id)
	})
	type keyInv struct {
		key string
		inv int64
	}
	var worst []keyInv
	acks := make([]int64, 0, 64)
	tmp := make([]int64, 0, 64)
	for lo := 0; lo < len(items); {
		hi := lo + 1
		for hi < len(items) && items[hi].key == items[lo].key {
			hi++
		}
		acks = acks[:0]
		latest := int64(math.MinInt64)
		for _, it := range items[lo:hi] {
			if it.ack < latest {
				w.res.Ordering.EventsOutOfOrder++
			}
			latest = max(latest, it.ack)
			acks = append(acks, it.ack)
		}
		tmp = slices.Grow(tmp[:0], len(acks))[:len(acks)]
		if inv := countInversions(acks, tmp); inv > 0 {
			w.res.Events.Reordered += inv
			w.res.Ordering.KeysReordered++
			worst = append(worst, keyInv{c.keys.list[items[lo].key], inv})
		}
		lo = hi
	}
	w.res.Ordering.Keys = int64(len(c.keys.list))
	slices.SortFunc(worst, func(x, y keyInv) int {
		return cmp.Or(cmp.Compare(y.inv, x.inv), strings.Compare(x.key, y.key))
	})
	w.res.Examples.ReorderedKeys = []string{}
	for _, k := range worst[:min(len(worst), c.limit)] {
		w.res.Examples.ReorderedKeys = append(w.res.Examples.ReorderedKeys, k.key)
	}
}

// countInversions counts pairs i < j with a[i] > a[j] by merge sort,
// sorting a; tmp must be as long as a.
func countInversions(a, tmp []int64) int64 {
	var inv int64
	n := len(a)
	for width := 1; width < n; width *= 2 {
		for lo := 0; lo+width < n; lo += 2 * width {
			mid, hi := lo+width, min(lo+2*width, n)
			if a[mid-1] <= a[mid] {
				continue // already in order: no pair crosses
			}
			i, j, k := lo, mid, lo
			for i < mid && j < hi {
				if a[i] <= a[j] {
					tmp[k] = a[i]
					i++
				} else {
					tmp[k] = a[j]
					j++
					inv += int64(mid - i)
				}
				k++
			}
			k += copy(tmp[k:], a[i:mid])
			copy(tmp[k:], a[j:hi])
			copy(a[lo:hi], tmp[lo:hi])
		}
	}
	return inv
}

// result assembles the Result from the tallies.
func (w *resultWork) result() *Result {
	c, run, res, t := w.c, w.run, w.res, w.t
	res.Scenario = run.Scenario
	res.Description = run.Description
	res.Mode = run.Mode
	res.Seed = run.Seed
	res.TraceHash = run.TraceHash
	res.Run = RunSpan{LoadEndS: seconds(run.LoadEnd), EndS: seconds(run.End), DrainTimedOut: run.DrainTimedOut}
	res.Load = LoadStats{Sent: run.LoadSent, Rejected: run.LoadRejected}

	rc := c.receipts
	rc.Unexpected = res.Receipts.Unexpected
	res.Receipts = rc

	res.Latency.Delivery = t.delivery.summary()
	res.Histograms.DeliveryUs = EncodeHistogram(t.delivery.histogram())

	res.Attempts.PerEvent = distribution(t.attemptCounts())
	if res.Events.Accepted > 0 {
		res.Attempts.Amplification = round4(float64(res.Attempts.Total) / float64(res.Events.Accepted))
	}

	res.Phases = make([]PhaseResult, 0, len(w.phases))
	for _, p := range w.phases {
		row := p.row
		row.EventCounts = p.fold.EventCounts
		s := p.fold.lat.summary()
		row.P50Ms, row.P99Ms, row.MaxMs = s.P50, s.P99, s.Max
		row.HdrUs = EncodeHistogram(p.fold.lat.histogram())
		res.Phases = append(res.Phases, row)
	}

	res.DeadLetterReasons = []ReasonCount{}
	for i, n := range t.reasons {
		if n > 0 {
			res.DeadLetterReasons = append(res.DeadLetterReasons, ReasonCount{Reason: c.reasons.list[i], Count: n})
		}
	}
	sortReasons(res.DeadLetterReasons)

	attempted := make([]int64, len(c.perSec))
	accepted := make([]int64, len(c.perSec))
	failed := make([]int64, len(c.perSec))
	for i, s := range c.perSec {
		accepted[i], attempted[i], failed[i] = int64(s.accepted), int64(s.attempted), int64(s.failed)
	}
	// As long as the timeline, or as the last first acknowledgement.
	delivered := grow(slices.Clone(t.delivered), len(c.perSec)-1)
	span := max(int64(math.Ceil(run.End.Seconds())), int64(len(c.perSec)), int64(len(delivered)))
	span = min(span, maxTimelineSeconds)
	ws := asRecorded(run.Faults)
	res.Faults = faultResults(ws, afterSeries(ws, &c.perTick, span), attempted, failed, span)
	res.Herd = worstHerd(res.Faults)
	w.fleet.finish(c, t, res, ws, span)
	res.Timeline = buildTimeline(span, accepted, attempted, delivered, failed)

	res.Examples.Limit = c.limit
	res.Examples.Lost = t.lost.ids()
	res.Examples.Duplicated = t.duplicated.ids()
	res.Examples.DeadLettered = t.dead.ids()
	res.Examples.Pending = t.pnd.ids()
	res.Examples.Unexpected = t.unexpected.ids()
	res.Notes = w.notes()
	res.Target = run.Target
	res.Endpoint, res.Histograms.ResponseUs = c.endpoint.section()
	res.Endpoint.Disables = slices.Clone(c.disables)
	sortDisables(res.Endpoint.Disables)
	res.Findings = Diagnose(res)
	return res
}

func (w *resultWork) notes() []string {
	c := w.c
	notes := []string{}
	add := func(n int64, format string) {
		if n > 0 {
			notes = append(notes, fmt.Sprintf(format, n))
		}
	}
	add(c.noIDReceipts, "%d receipts carried no webhook id; each counts as an unexpected event")
	add(c.noIDAttempts, "%d attempts carried no webhook id; they count as unmatched")
	add(w.t.orphanFinals, "%d final states were for ids never accepted and were ignored")
	add(c.earlyRecords, "%d records were stamped before the run started and count at 0 s")
	add(c.lateRecords, fmt.Sprintf("%%d records came more than %d days after the start and count in the timeline's last second", maxTimelineSeconds/86400))
	add(w.t.clamped, fmt.Sprintf("%%d deliveries took longer than %d days and count as %d days", histHighest/int64(24*time.Hour/time.Microsecond), histHighest/int64(24*time.Hour/time.Microsecond)))
	return notes
}

func sortReasons(rs []ReasonCount) {
	slices.SortFunc(rs, func(x, y ReasonCount) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), strings.Compare(x.Reason, y.Reason))
	})
}

// exampleKey orders example ids: by (a, b), then id.
type exampleKey struct {
	a  uint64
	b  int64
	id string
}

func (x exampleKey) compare(y exampleKey) int {
	return cmp.Or(cmp.Compare(x.a, y.a), cmp.Compare(x.b, y.b), strings.Compare(x.id, y.id))
}

// firstN keeps the limit smallest keys offered, sorted.
type firstN struct {
	limit int
	keys  []exampleKey
}

func (f *firstN) offer(k exampleKey) {
	if f.limit == 0 || (len(f.keys) == f.limit && k.compare(f.keys[len(f.keys)-1]) >= 0) {
		return
	}
	i, _ := slices.BinarySearchFunc(f.keys, k, exampleKey.compare)
	if len(f.keys) == f.limit {
		f.keys = f.keys[:len(f.keys)-1]
	}
	f.keys = slices.Insert(f.keys, i, k)
}

func (f *firstN) ids() []string {
	out := make([]string, len(f.keys))
	for i, k := range f.keys {
		out[i] = k.id
	}
	return out
}
