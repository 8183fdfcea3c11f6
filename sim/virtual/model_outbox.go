package virtual

import (
	"math"
	"math/rand/v2"
)

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
	ahead  *commitDraws
}

// commitDraws holds the cost factors of the next commits, drawn ahead in
// one loop: a commit's factor depends on its number alone, and drawing a
// few hundred at a time lets the processor overlap them, where one draw
// per commit, amid the event loop's other work, waits out the keyed seed,
// the normal draw and the exponential in turn (12% of fleet-day's CPU
// profile, 5% drawn ahead; 2% less wall time: most of the wait overlapped
// the loop's cache misses already).
type commitDraws struct {
	pcg     rand.PCG
	rnd     *rand.Rand
	factors []float64 // exp(sigma·z) of commits from+1 to from+len
	from    uint64
}

// commitsAhead is how many commit factors are drawn at a time.
const commitsAhead = 256

// factor returns exp(sigma·z) for commit n ≥ 1, z the commit's normal
// draw from k by its number; commits are numbered in turn, so a batch
// drawn from n serves the next commitsAhead calls.
func (o *outboxModel) factor(k *kernel, n uint64) float64 {
	a := o.ahead
	if a == nil {
		a = &commitDraws{factors: make([]float64, 0, commitsAhead)}
		a.rnd = rand.New(&a.pcg)
		o.ahead = a
	}
	if n <= a.from || n > a.from+uint64(len(a.factors)) {
		a.from, a.factors = n-1, a.factors[:commitsAhead]
		for j := range a.factors {
			a.pcg.Seed(k.seeds(streamCommit, n+uint64(j), 0))
			a.factors[j] = math.Exp(o.sigma * a.rnd.NormFloat64())
		}
	}
	return a.factors[n-a.from-1]
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
		cost *= o.factor(k, o.n)
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
