package sender

import (
	"sync"
)

// pgGroup is group commit on PostgreSQL, as the bbolt outbox's writer
// does it (outbox.go): changes submitted concurrently (ingest requests,
// attempt outcomes) wait in a queue, and a writer takes whatever arrived
// while it was committing the previous group and writes it in one
// transaction, one multi-row statement. Each change is answered by
// commit, after the commit: nothing is acknowledged before it is kept.
//
// One commit per request is what bounded single ingests at a few
// thousand a second (each a round trip, a commit record and a WAL flush);
// a group shares them.
type pgGroup[T any] struct {
	// commit writes a group in one transaction and answers each of its
	// changes (their error, or nil once committed).
	commit func(group []T)
	// abandon answers a change that will not be written: the store
	// stopped (crash) before a writer took it.
	abandon func(item T, err error)
	// weight is how many rows a change writes; a group takes changes up
	// to limit rows (at least one change), so that one transaction
	// cannot grow without bound under a flood.
	weight func(T) int
	limit  int

	mu       sync.Mutex
	cond     *sync.Cond // signalled when the queue grows or the group stops
	queue    []T
	stopping bool  // no new changes
	stopErr  error // what late and abandoned changes are told; nil: write what is queued
	writers  sync.WaitGroup
}

// newPGGroup starts writers goroutines committing groups. More than one
// lets a group be sent while another commits: the database's WAL flush
// is shared by concurrent commits.
func newPGGroup[T any](writers, limit int, weight func(T) int, commit func([]T), abandon func(T, error)) *pgGroup[T] {
	g := &pgGroup[T]{commit: commit, abandon: abandon, weight: weight, limit: limit}
	g.cond = sync.NewCond(&g.mu)
	for range writers {
		g.writers.Go(g.write)
	}
	return g
}

// submit queues a change; commit (or abandon) answers it later. It
// refuses a change once the group stopped, with the stop's error.
func (g *pgGroup[T]) submit(item T) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopping {
		if g.stopErr != nil {
			return g.stopErr
		}
		return ErrClosed
	}
	g.queue = append(g.queue, item)
	g.cond.Signal()
	return nil
}

// write is a writer: it commits groups until the group stops and, on a
// graceful stop, its queue is empty.
func (g *pgGroup[T]) write() {
	g.mu.Lock()
	for {
		for len(g.queue) == 0 && !g.stopping {
			g.cond.Wait()
		}
		if len(g.queue) == 0 {
			g.mu.Unlock()
			return
		}
		if g.stopErr != nil { // a crash: what is queued is not written
			left, err := g.queue, g.stopErr
			g.queue = nil
			g.mu.Unlock()
			for _, item := range left {
				g.abandon(item, err)
			}
			return
		}
		n, rows := 0, 0
		for n < len(g.queue) && (n == 0 || rows+g.weight(g.queue[n]) <= g.limit) {
			rows += g.weight(g.queue[n])
			n++
		}
		group, rest := g.queue[:n:n], g.queue[n:]
		g.queue = nil // the array goes with the group, not kept for the next
		if len(rest) > 0 {
			g.queue = rest
		}
		g.mu.Unlock()
		g.commit(group)
		g.mu.Lock()
	}
}

// stop refuses new changes and waits for the writers. err nil writes
// what is queued first (a graceful stop); otherwise queued changes are
// abandoned with err, as kill -9 would lose them unanswered.
func (g *pgGroup[T]) stop(err error) {
	g.halt(err)
	g.writers.Wait()
}

// halt is stop without the wait: the writers finish a group they are
// committing, then write or abandon the queue.
func (g *pgGroup[T]) halt(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.stopping {
		g.stopping, g.stopErr = true, err
	}
	g.cond.Broadcast()
}
