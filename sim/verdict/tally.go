package verdict

import (
	"maps"
	"slices"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// What the verdict needs of an event once nothing about it can change:
// its category, its attempts, its time to delivery and where it counts
// (phase, group, examples, ordering). The checker folds a settled event
// into its running tally and forgets it (see WithSettling), so a long
// run's memory follows the events still open, not every event accepted;
// Result folds the events still open into a copy of that tally. Either
// way each event goes through fold once: one copy of each decision.

// tally is the folded figures of a set of events. The zero value is
// empty; latencies allocate their histograms on first use.
type tally struct {
	ev                        Events
	attempts, failed, faulted int64
	unmatched                 int64 // attempts on ids never accepted
	unexpectedReceipts        int64
	orphanFinals              int64
	clamped                   int64
	// perEvent counts events by how many attempts they took: below
	// perEventDense by index (a count per settled event, where a map's
	// hashing was a tenth of a fleet run's checker), the rest in
	// perEventRare.
	perEvent                    []int64
	perEventRare                map[uint32]int64
	delivery                    latency
	delivered                   []int64   // per second: first acknowledgements
	reasons                     []int64   // by the checker's reason number
	phases                      []rowFold // by the checker's phase number
	groups                      []rowFold // by the checker's group number
	lost, duplicated, dead, pnd firstN
	unexpected                  firstN
	// ordered are the delivered events that have an ordering key: whether
	// they were received in order is a question about all of their key's
	// events, answered in Result (order). They are the one thing kept per
	// settled event, and only for keyed events.
	ordered []orderItem
}

// rowFold is one phase's or one group's events (a group's with their
// attempts).
type rowFold struct {
	EventCounts
	attempts, failed int64
	lat              latency
}

// orderItem is a delivered keyed event, for reordering.
type orderItem struct {
	key     int32
	seq     uint64
	at, ack int64
	id      string
}

// latency is a time-to-delivery histogram with its exact extremes.
type latency struct {
	hist         *hdrhistogram.Histogram
	n            int64
	minUs, maxUs int64
}

func (l *latency) record(us int64) {
	if l.hist == nil {
		l.hist = NewHistogram()
	}
	_ = l.hist.RecordValue(us) // in range by construction
	if l.n == 0 || us < l.minUs {
		l.minUs = us
	}
	if l.n == 0 || us > l.maxUs {
		l.maxUs = us
	}
	l.n++
}

// add merges o in: a histogram merge is exact, bucket for bucket.
func (l *latency) add(o *latency) {
	if o.n == 0 {
		return
	}
	if l.hist == nil {
		l.hist = NewHistogram()
	}
	l.hist.Merge(o.hist)
	if l.n == 0 || o.minUs < l.minUs {
		l.minUs = o.minUs
	}
	if l.n == 0 || o.maxUs > l.maxUs {
		l.maxUs = o.maxUs
	}
	l.n += o.n
}

// histogram is the latencies' histogram (empty when none).
func (l *latency) histogram() *hdrhistogram.Histogram {
	if l.hist == nil {
		return NewHistogram()
	}
	return l.hist
}

func (l *latency) summary() LatencySummary { return summarize(l.histogram(), l.minUs, l.maxUs) }

func newTally(limit int) *tally {
	return &tally{
		perEventRare: make(map[uint32]int64),
		lost:         firstN{limit: limit},
		duplicated:   firstN{limit: limit},
		dead:         firstN{limit: limit},
		pnd:          firstN{limit: limit},
		unexpected:   firstN{limit: limit},
	}
}

// fold adds one event, whose records are all in, to the tally. phase is
// the row it counts in for an event without a phase of its own (nil:
// none); an event with one counts in t.phases.
func (t *tally) fold(e *eventState, id string, phase *rowFold) {
	if !e.accepted {
		t.unmatched += int64(e.attempts)
		if e.final != finalNone {
			t.orphanFinals++
		}
		if e.receipts > 0 {
			t.ev.Unexpected++
			t.unexpectedReceipts += int64(e.receipts)
			t.unexpected.offer(exampleKey{a: uint64(e.firstSeen), id: id})
		}
		return
	}
	ev := &t.ev
	ev.Accepted++
	t.countAttempts(e.attempts, 1)
	t.attempts += int64(e.attempts)
	t.failed += int64(e.failed)
	t.faulted += int64(e.faulted)
	if e.final == finalDeadLettered {
		t.reasons = grow(t.reasons, int(e.reason))
		t.reasons[e.reason]++
	}
	// The event's phase row and group row count it by category; their
	// latencies are the delivered ones'.
	var rows [2]*rowFold
	if e.phase >= 0 {
		t.phases = grow(t.phases, int(e.phase))
		phase = &t.phases[e.phase]
	}
	rows[0] = phase
	if e.group >= 0 {
		t.groups = grow(t.groups, int(e.group))
		g := &t.groups[e.group]
		g.attempts += int64(e.attempts)
		g.failed += int64(e.failed)
		rows[1] = g
	}
	for _, r := range rows {
		if r != nil {
			r.count(e)
		}
	}
	order := exampleKey{a: e.seq, b: e.acceptedAt, id: id}
	switch {
	case e.acks > 0:
		ev.Delivered++
		us := max(e.firstAck-e.acceptedAt, 0) / int64(time.Microsecond)
		if us > histHighest {
			t.clamped++
			us = histHighest
		}
		t.delivery.record(us)
		for _, r := range rows {
			if r != nil {
				r.lat.record(us)
			}
		}
		s := min(e.firstAck/int64(time.Second), maxTimelineSeconds-1)
		t.delivered = grow(t.delivered, int(s))
		t.delivered[s]++
		if e.acks > 1 {
			ev.Duplicated++
			ev.DuplicateDeliveries += int64(e.acks - 1)
			t.duplicated.offer(order)
		}
		if e.final == finalDeadLettered {
			ev.DeadLetteredReceived++
		}
		if e.key >= 0 {
			t.ordered = append(t.ordered, orderItem{key: e.key, seq: e.seq, at: e.acceptedAt, ack: e.firstAck, id: id})
		}
	case e.final == finalDeadLettered:
		ev.DeadLettered++
		t.dead.offer(order)
	case e.final == finalPending:
		ev.Pending++
		t.pnd.offer(order)
	default:
		// Never acknowledged, and the sender neither gave up nor is
		// still trying (its own "delivered" is a claim, not a receipt).
		ev.Lost++
		t.lost.offer(order)
	}
}

// count puts an accepted event in its category, as fold does for the
// whole run.
func (c *EventCounts) count(e *eventState) {
	c.Accepted++
	switch {
	case e.acks > 0:
		c.Delivered++
		if e.acks > 1 {
			c.Duplicated++
		}
	case e.final == finalDeadLettered:
		c.DeadLettered++
	case e.final == finalPending:
		c.Pending++
	default:
		c.Lost++
	}
}

// add merges o's figures into t.
func (t *tally) add(o *tally) {
	addEvents(&t.ev, &o.ev)
	t.attempts += o.attempts
	t.failed += o.failed
	t.faulted += o.faulted
	t.unmatched += o.unmatched
	t.unexpectedReceipts += o.unexpectedReceipts
	t.orphanFinals += o.orphanFinals
	t.clamped += o.clamped
	for n, k := range o.perEvent {
		if k > 0 {
			t.countAttempts(uint32(n), k)
		}
	}
	for n, k := range o.perEventRare {
		t.countAttempts(n, k)
	}
	t.delivery.add(&o.delivery)
	t.delivered = addSeries(t.delivered, o.delivered)
	t.reasons = addSeries(t.reasons, o.reasons)
	for i := range o.phases {
		t.phases = grow(t.phases, i)
		t.phases[i].add(&o.phases[i])
	}
	for i := range o.groups {
		t.groups = grow(t.groups, i)
		t.groups[i].add(&o.groups[i])
	}
	for _, f := range []struct{ to, from *firstN }{
		{&t.lost, &o.lost}, {&t.duplicated, &o.duplicated}, {&t.dead, &o.dead}, {&t.pnd, &o.pnd}, {&t.unexpected, &o.unexpected},
	} {
		for _, k := range f.from.keys {
			f.to.offer(k)
		}
	}
	t.ordered = append(t.ordered, o.ordered...)
}

func (r *rowFold) add(o *rowFold) {
	r.Accepted += o.Accepted
	r.Delivered += o.Delivered
	r.Duplicated += o.Duplicated
	r.DeadLettered += o.DeadLettered
	r.Pending += o.Pending
	r.Lost += o.Lost
	r.attempts += o.attempts
	r.failed += o.failed
	r.lat.add(&o.lat)
}

func addEvents(t, o *Events) {
	t.Accepted += o.Accepted
	t.Delivered += o.Delivered
	t.Lost += o.Lost
	t.Duplicated += o.Duplicated
	t.DuplicateDeliveries += o.DuplicateDeliveries
	t.DeadLettered += o.DeadLettered
	t.Pending += o.Pending
	t.Unexpected += o.Unexpected
	t.DeadLetteredReceived += o.DeadLetteredReceived
}

// addSeries adds o to t element by element, growing t as needed.
func addSeries(t, o []int64) []int64 {
	if len(o) > 0 {
		t = grow(t, len(o)-1)
	}
	for i, n := range o {
		t[i] += n
	}
	return t
}

// grow makes s long enough to hold index i.
// perEventDense bounds the attempt counts perEvent holds by index.
const perEventDense = 256

// countAttempts counts k events that took n attempts.
func (t *tally) countAttempts(n uint32, k int64) {
	if n < perEventDense {
		t.perEvent = grow(t.perEvent, int(n))
		t.perEvent[n] += k
		return
	}
	t.perEventRare[n] += k
}

// attemptCounts is perEvent as (attempts, events) pairs, by attempts,
// for the events counted.
func (t *tally) attemptCounts() [][2]int64 {
	counts := make([][2]int64, 0, len(t.perEvent)+len(t.perEventRare))
	for n, k := range t.perEvent {
		if k > 0 {
			counts = append(counts, [2]int64{int64(n), k})
		}
	}
	for _, n := range slices.Sorted(maps.Keys(t.perEventRare)) {
		counts = append(counts, [2]int64{int64(n), t.perEventRare[n]})
	}
	return counts
}

func grow[T any](s []T, i int) []T {
	if i < len(s) {
		return s
	}
	var zero T
	for len(s) <= i {
		s = append(s, zero)
	}
	return s
}
