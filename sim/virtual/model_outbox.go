package virtual

import "math"

// outboxModel is the reference sender's outbox writer in virtual time: one
// writer applies every change queued so far in one transaction and one
// fsync (group commit, at most maxGroup changes), and only then does the
// change take effect (an ingest is acknowledged, a claimed attempt leaves,
// an outcome frees the event). A change queued while a commit runs waits
// for the next one; that wait is most of an event's time in the sender.
type outboxModel struct {
	queue  []write // waiting for the next commit
	batch  []write // in the commit under way
	busy   bool
	commit float64 // one commit's median cost, ns
	sigma  float64 // its spread (lognormal)
	per    int64   // its cost per change, ns
	n      uint64  // commits so far
}

// maxGroup is the reference outbox's bound on changes per commit
// (reference/sender/outbox.go).
const maxGroup = 4096

type writeKind uint8

const (
	writeIngest  writeKind = iota + 1 // ref: the event's slot
	writeClaim                        // ref: the attempt
	writeOutcome                      // ref: the attempt
	writeRecover                      // the restarted sender's fixes (ref unused)
)

// write is one queued change.
type write struct {
	kind writeKind
	ref  int32
}

// submit queues w; the world starts a commit when the writer is idle.
func (o *outboxModel) submit(w write) { o.queue = append(o.queue, w) }

// start begins a commit of what is queued, if the writer is idle and
// something is; it returns the commit's cost (0: none started), drawn
// from k by the commit's number.
func (o *outboxModel) start(k *kernel) int64 {
	if o.busy || len(o.queue) == 0 {
		return 0
	}
	n := min(len(o.queue), maxGroup)
	if n == len(o.queue) {
		// All of it (the usual case: a change or two): the queue becomes
		// the batch, and the old batch's memory the next queue.
		o.batch, o.queue = o.queue, o.batch[:0]
	} else {
		o.batch = append(o.batch[:0], o.queue[:n]...)
		o.queue = o.queue[:copy(o.queue, o.queue[n:])]
	}
	o.busy = true
	o.n++
	cost := o.commit
	if o.sigma > 0 {
		cost *= math.Exp(o.sigma * k.draw(streamCommit, o.n, 0).NormFloat64())
	}
	return max(int64(cost), 1) + o.per*int64(n)
}

// done ends the commit under way and returns its changes, valid until the
// next start.
func (o *outboxModel) done() []write {
	o.busy = false
	return o.batch
}

// drop abandons everything queued (a crash: only committed changes
// survive) and returns it, valid until the next submit.
func (o *outboxModel) drop() []write {
	q := o.queue
	o.queue = o.queue[:0]
	return q
}
