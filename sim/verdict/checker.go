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
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
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
// call Result. It keeps about 120 bytes per event (its state, its id and
// the index entry), three counters per second of the run and attempts per
// 10 ms (400 bytes a second, for the retry storm after a fault window,
// whose close need not fall on a whole second), never the records
// themselves.
type Checker struct {
	mu    sync.Mutex
	start time.Time
	limit int

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
	perTick []uint32

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

// WithExampleLimit sets how many example ids each category lists.
func WithExampleLimit(n int) CheckerOption {
	return func(c *Checker) { c.limit = max(n, 0) }
}

// NewChecker returns a checker for a run that started at start; every
// record's time is taken relative to it.
func NewChecker(start time.Time, opts ...CheckerOption) *Checker {
	c := &Checker{
		start:   start,
		limit:   DefaultExampleLimit,
		index:   make(map[string]int32),
		keys:    names[int32]{limit: math.MaxInt32},
		phases:  names[int16]{limit: math.MaxInt16},
		groups:  names[int16]{limit: math.MaxInt16},
		reasons: names[uint16]{limit: maxReasons},
	}
	// Reserved up front: the empty reason and the catch-all for reasons
	// past the limit.
	c.reasons.intern("")
	c.reasons.intern(otherReasons)
	for _, o := range opts {
		o(c)
	}
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
func (c *Checker) NewRef(id string) (Ref, error) {
	if id == "" {
		return 0, errors.New("sim: no event id to add")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return Ref(c.events.add(id)), nil
}

// withRef runs record for the event at r, under the lock.
func (c *Checker) withRef(r Ref, record func(i int32) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r < 0 || int32(r) >= c.events.n {
		return fmt.Errorf("sim: no event at checker ref %d", r)
	}
	return record(int32(r))
}

// AcceptRef is Accept for the event at r.
func (c *Checker) AcceptRef(r Ref, a Accepted) error {
	return c.withRef(r, func(i int32) error { return c.accept(i, &a) })
}

// AttemptRef is Attempt for the event at r.
func (c *Checker) AttemptRef(r Ref, a AttemptRec) error {
	return c.withRef(r, func(i int32) error { c.attempt(i, &a); return nil })
}

// ReceiptRef is Receipt for the event at r.
func (c *Checker) ReceiptRef(r Ref, rec ReceiptRec) error {
	return c.withRef(r, func(i int32) error { c.receipt(i, &rec); return nil })
}

// FinalRef is Final for the event at r.
func (c *Checker) FinalRef(r Ref, f Final) error {
	return c.withRef(r, func(i int32) error {
		st, err := finalOf(c.events.id(i), f.State)
		if err == nil {
			c.final(i, st, f.Reason)
		}
		return err
	})
}

// Progress is a cheap running count for progress displays.
type Progress struct {
	Accepted  int64 // events accepted so far
	Delivered int64 // accepted events acknowledged at least once
	Attempts  int64
	Receipts  int64
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
		c.index[c.events.id(c.indexed)] = c.indexed
	}
	if i, ok := c.index[id]; ok {
		return i
	}
	id = strings.Clone(id)
	i := c.events.add(id)
	c.index[id] = i
	c.indexed++
	return i
}

// eventTable stores event states in fixed-size chunks: growing it never
// copies what is there, and the states (pointer-free) stay apart from the
// ids so the garbage collector does not scan them.
type eventTable struct {
	states [][]eventState
	ids    [][]string
	n      int32
}

const chunkBits = 12

func (t *eventTable) add(id string) int32 {
	if t.n&(1<<chunkBits-1) == 0 {
		t.states = append(t.states, make([]eventState, 0, 1<<chunkBits))
		t.ids = append(t.ids, make([]string, 0, 1<<chunkBits))
	}
	last := len(t.states) - 1
	t.states[last] = append(t.states[last], eventState{key: -1, phase: -1, group: -1})
	t.ids[last] = append(t.ids[last], id)
	t.n++
	return t.n - 1
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
	if i, ok := n.index[s]; ok {
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

// offset is t's nanoseconds since the start, 0 for a time before it.
func (c *Checker) offset(t time.Time) int64 {
	d := int64(t.Sub(c.start))
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
	k := min(off/int64(herdTick), maxTimelineSeconds*ticksPerSecond-1)
	for int64(len(c.perTick)) <= k {
		c.perTick = append(c.perTick, 0)
	}
	return &c.perTick[k]
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

	delivery         *hdrhistogram.Histogram
	minUs, maxUs     int64
	phases           []phaseTally
	phaseOf          []int // checker phase index -> row in phases
	unplacedRow      int   // row for events with no phase and no window, -1 if none yet
	attemptsPerEvent map[uint32]int64
	delivered        []int64 // per second: first acknowledgements
	reasonCounts     []int64
	clamped          int64
	orphanFinals     int64

	lost, duplicated, deadLettered, pending, unexpected firstN

	fleet *fleetWork // nil with one endpoint
}

type phaseTally struct {
	row          PhaseResult
	hist         *hdrhistogram.Histogram
	minUs, maxUs int64
}

func newResultWork(c *Checker, run RunInfo) *resultWork {
	w := &resultWork{
		c:                c,
		run:              run,
		res:              &Result{Schema: Schema, Passed: true},
		delivery:         NewHistogram(),
		attemptsPerEvent: make(map[uint32]int64),
		reasonCounts:     make([]int64, len(c.reasons.list)),
		unplacedRow:      -1,
		lost:             firstN{limit: c.limit},
		duplicated:       firstN{limit: c.limit},
		deadLettered:     firstN{limit: c.limit},
		pending:          firstN{limit: c.limit},
		unexpected:       firstN{limit: c.limit},
		fleet:            newFleetWork(c, run),
	}
	// Phase rows: the run's windows in their order, then phases named only
	// by records, by name.
	rowOf := map[string]int{}
	for _, p := range run.Phases {
		if _, dup := rowOf[p.Name]; dup {
			continue
		}
		rowOf[p.Name] = len(w.phases)
		w.phases = append(w.phases, newPhaseTally(p.Name, seconds(p.Start), seconds(p.End)))
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
		w.phases = append(w.phases, newPhaseTally(n, 0, 0))
	}
	w.phaseOf = make([]int, len(c.phases.list))
	for i, n := range c.phases.list {
		w.phaseOf[i] = rowOf[n]
	}
	return w
}

func newPhaseTally(name string, start, end float64) phaseTally {
	return phaseTally{row: PhaseResult{Name: name, StartS: start, EndS: end}, hist: NewHistogram()}
}

// phaseRow is the per-phase row an accepted event counts in, or -1 when
// the run has no phases at all.
func (w *resultWork) phaseRow(e *eventState) int {
	if e.phase >= 0 {
		return w.phaseOf[e.phase]
	}
	if len(w.run.Phases) > 0 {
		// The last phase that had started: acceptance can lag a little
		// behind the load that caused it.
		row := 0
		for i, p := range w.run.Phases {
			if int64(p.Start) <= e.acceptedAt {
				row = i
			}
		}
		return w.phaseOfWindow(row)
	}
	if len(w.phases) == 0 {
		return -1
	}
	if w.unplacedRow < 0 {
		w.unplacedRow = len(w.phases)
		w.phases = append(w.phases, newPhaseTally("(none)", 0, 0))
	}
	return w.unplacedRow
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

// classify puts every id in its category and tallies latency, attempts
// and phases.
func (w *resultWork) classify() {
	c, ev := w.c, &w.res.Events
	w.delivered = make([]int64, len(c.perSec))
	for i := range c.events.n {
		e := c.events.at(i)
		id := c.events.id(i)
		if !e.accepted {
			w.classifyUnaccepted(e, id)
			continue
		}
		ev.Accepted++
		w.attemptsPerEvent[e.attempts]++
		w.res.Attempts.Total += int64(e.attempts)
		w.res.Attempts.Failed += int64(e.failed)
		w.res.Attempts.Faulted += int64(e.faulted)
		if e.final == finalDeadLettered {
			w.reasonCounts[e.reason]++
		}
		w.fleet.count(w, e)
		row := w.phaseRow(e)
		var pr *PhaseResult
		if row >= 0 {
			pr = &w.phases[row].row
			pr.Accepted++
		}
		order := exampleKey{a: e.seq, b: e.acceptedAt, id: id}
		switch {
		case e.acks > 0:
			ev.Delivered++
			us := w.latencyUs(e)
			w.record(w.delivery, us, &w.minUs, &w.maxUs, ev.Delivered == 1)
			if pr != nil {
				t := &w.phases[row]
				t.record(w, us)
				pr.Delivered++
			}
			w.countDelivered(e.firstAck)
			if e.acks > 1 {
				ev.Duplicated++
				ev.DuplicateDeliveries += int64(e.acks - 1)
				w.duplicated.offer(order)
				if pr != nil {
					pr.Duplicated++
				}
			}
			if e.final == finalDeadLettered {
				ev.DeadLetteredReceived++
			}
		case e.final == finalDeadLettered:
			ev.DeadLettered++
			w.deadLettered.offer(order)
			if pr != nil {
				pr.DeadLettered++
			}
		case e.final == finalPending:
			ev.Pending++
			w.pending.offer(order)
			if pr != nil {
				pr.Pending++
			}
		default:
			// Never acknowledged, and the sender neither gave up nor is
			// still trying (its own "delivered" is a claim, not a receipt).
			ev.Lost++
			w.lost.offer(order)
			if pr != nil {
				pr.Lost++
			}
		}
	}
	ev.Unexpected += c.noIDReceipts
	w.res.Receipts.Unexpected += c.noIDReceipts
	w.res.Attempts.Unmatched += c.noIDAttempts
}

func (w *resultWork) classifyUnaccepted(e *eventState, id string) {
	w.res.Attempts.Unmatched += int64(e.attempts)
	if e.final != finalNone {
		w.orphanFinals++
	}
	if e.receipts > 0 {
		w.res.Events.Unexpected++
		w.res.Receipts.Unexpected += int64(e.receipts)
		w.unexpected.offer(exampleKey{a: uint64(e.firstSeen), id: id})
	}
}

// latencyUs is an event's time to delivery in microseconds, within the
// histogram's range.
func (w *resultWork) latencyUs(e *eventState) int64 {
	us := max(e.firstAck-e.acceptedAt, 0) / int64(time.Microsecond)
	if us > histHighest {
		w.clamped++
		us = histHighest
	}
	return us
}

func (w *resultWork) record(h *hdrhistogram.Histogram, us int64, minUs, maxUs *int64, first bool) {
	_ = h.RecordValue(us) // in range by construction
	if first || us < *minUs {
		*minUs = us
	}
	if first || us > *maxUs {
		*maxUs = us
	}
}

func (t *phaseTally) record(w *resultWork, us int64) {
	w.record(t.hist, us, &t.minUs, &t.maxUs, t.hist.TotalCount() == 0)
}

func (w *resultWork) countDelivered(at int64) {
	s := min(at/int64(time.Second), maxTimelineSeconds-1)
	for int64(len(w.delivered)) <= s {
		w.delivered = append(w.delivered, 0)
	}
	w.delivered[s]++
}

// order counts reordering: per key, inversions between the accepted
// order and the order of first acknowledgements.
func (w *resultWork) order() {
	c := w.c
	type item struct {
		key     int32
		idx     int32
		seq     uint64
		at, ack int64
	}
	items := make([]item, 0, w.res.Events.Delivered)
	for i := range c.events.n {
		e := c.events.at(i)
		if e.accepted && e.acks > 0 && e.key >= 0 {
			items = append(items, item{key: e.key, idx: i, seq: e.seq, at: e.acceptedAt, ack: e.firstAck})
		}
	}
	slices.SortFunc(items, func(x, y item) int {
		// Not cmp.Or: it would look up and compare the ids every time.
		if x.key != y.key {
			return cmp.Compare(x.key, y.key)
		}
		if x.seq != y.seq {
			return cmp.Compare(x.seq, y.seq)
		}
		if x.at != y.at {
			return cmp.Compare(x.at, y.at)
		}
		return strings.Compare(c.events.id(x.idx), c.events.id(y.idx))
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
	c, run, res := w.c, w.run, w.res
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

	res.Latency.Delivery = summarize(w.delivery, w.minUs, w.maxUs)
	res.Histograms.DeliveryUs = EncodeHistogram(w.delivery)

	counts := make([][2]int64, 0, len(w.attemptsPerEvent))
	for _, n := range slices.Sorted(maps.Keys(w.attemptsPerEvent)) {
		counts = append(counts, [2]int64{int64(n), w.attemptsPerEvent[n]})
	}
	res.Attempts.PerEvent = distribution(counts)
	if res.Events.Accepted > 0 {
		res.Attempts.Amplification = round4(float64(res.Attempts.Total) / float64(res.Events.Accepted))
	}

	res.Phases = make([]PhaseResult, 0, len(w.phases))
	for _, t := range w.phases {
		s := summarize(t.hist, t.minUs, t.maxUs)
		t.row.P50Ms, t.row.P99Ms, t.row.MaxMs = s.P50, s.P99, s.Max
		t.row.HdrUs = EncodeHistogram(t.hist)
		res.Phases = append(res.Phases, t.row)
	}

	res.DeadLetterReasons = []ReasonCount{}
	for i, n := range w.reasonCounts {
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
	span := max(int64(math.Ceil(run.End.Seconds())), int64(len(c.perSec)), int64(len(w.delivered)))
	span = min(span, maxTimelineSeconds)
	ws := asRecorded(run.Faults)
	res.Faults = faultResults(ws, afterSeries(ws, c.perTick, span), attempted, failed, span)
	res.Herd = worstHerd(res.Faults)
	w.fleet.finish(c, res, ws, span)
	res.Timeline = buildTimeline(span, accepted, attempted, w.delivered, failed)

	res.Examples.Limit = c.limit
	res.Examples.Lost = w.lost.ids()
	res.Examples.Duplicated = w.duplicated.ids()
	res.Examples.DeadLettered = w.deadLettered.ids()
	res.Examples.Pending = w.pending.ids()
	res.Examples.Unexpected = w.unexpected.ids()
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
	add(w.orphanFinals, "%d final states were for ids never accepted and were ignored")
	add(c.earlyRecords, "%d records were stamped before the run started and count at 0 s")
	add(c.lateRecords, fmt.Sprintf("%%d records came more than %d days after the start and count in the timeline's last second", maxTimelineSeconds/86400))
	add(w.clamped, fmt.Sprintf("%%d deliveries took longer than %d days and count as %d days", histHighest/int64(24*time.Hour/time.Microsecond), histHighest/int64(24*time.Hour/time.Microsecond)))
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
