package receiver

import (
	"errors"
	"fmt"
	"os"
	"sync"
)

// syncDepth is how many SyncAck group commits may be writing and fsyncing
// at once. One would think more is better: a loop of write+fsync on one
// file completes 1.5-2x as many per second from 3 goroutines as from one
// on this machine's disk. But under the receiver's load a second and
// third commit start with a handful of receipts each (5x the fsyncs of
// depth 1, 6 receipts a group), every fsync is a blocking system call the
// runtime hands its P off for, and the CPU per webhook rose 25-40% for no
// higher rate (docs/performance.md). So one commit at a time; newGroupCommit
// takes the depth so the tests hold the pipelined path to the same
// guarantees.
const syncDepth = 1

// groupCommit is SyncAck's group commit: a request whose receipt no
// started commit covers yet joins the open group; the first such request
// with a free slot takes the group (every receipt appended so far) and
// commits it: it writes the journal and the dedupe store out, then fsyncs
// the journal through the slot's own descriptor, outside flushMu; the
// journal backs the store (see store), whose own fsync then waits for the
// flush interval. Only with a store and no journal file is the store
// fsynced here (at the same time, through the slot's descriptor of it).
// Each waiter wakes once, when its own group is done. Up to a depth of
// groups are in flight (syncDepth); a group that forms meanwhile is
// started by the first commit to finish.
//
// Why each slot fsyncs through descriptors of its own: Linux reports a
// writeback error to one fsync per open file description. Two commits
// fsyncing one descriptor at once could see the error reported to the
// other and answer 2xx for a receipt that did not reach the disk; each
// descriptor (opened before the lines it covers are written) sees every
// error once. And because an error also consumes what later lines share
// (a page, a lost write), a failed commit fails every receipt appended up
// to then (failedUpTo), whichever group covers it: those are answered 503
// and their senders retry.
type groupCommit struct {
	mu         sync.Mutex
	started    uint64         // receipts up to this seq are covered by a started commit
	open       *commitGroup   // waiters for receipts after started; nil when none
	flying     []*commitGroup // started and not finished
	idle       []*syncSlot    // slots free to start a commit
	slots      []*syncSlot
	failedUpTo uint64         // a commit failed when receipts up to here were appended
	running    sync.WaitGroup // commits in progress (Shutdown waits for them)
}

// commitGroup is the receipts (lo, upto] one commit covers and the
// requests waiting for them.
type commitGroup struct {
	lo, upto uint64
	done     chan struct{} // closed when the commit ended; err says how
	err      error
}

// syncSlot is what one commit in flight fsyncs through: its own
// descriptors of the journal and of the dedupe store (reopened when the
// store is compacted into a new file).
type syncSlot struct {
	journal  *os.File // nil without a journal file
	store    *os.File // nil without a dedupe store
	storeGen int
}

// errEarlierCommit fails a receipt appended before a commit failed.
var errEarlierCommit = errors.New("an fsync failed after this receipt was written, so it may not be on disk")

// newGroupCommit opens each of depth slots' descriptor of the journal
// (its dedupe store descriptors are opened at the first commit: the store
// file is replaced when compacted).
func newGroupCommit(journalPath string, depth int) (*groupCommit, error) {
	g := &groupCommit{}
	for range depth {
		s := &syncSlot{}
		if journalPath != "" {
			f, err := os.OpenFile(journalPath, os.O_WRONLY, 0)
			if err != nil {
				g.close()
				return nil, fmt.Errorf("journal: opening it for fsync: %w", err)
			}
			s.journal = f
		}
		g.slots = append(g.slots, s)
	}
	g.idle = append(g.idle, g.slots...)
	return g, nil
}

// close closes the slots' descriptors; no commit may be running.
func (g *groupCommit) close() {
	for _, s := range g.slots {
		if s.journal != nil {
			s.journal.Close()
		}
		if s.store != nil {
			s.store.Close()
		}
	}
	g.slots, g.idle = nil, nil
}

// durable waits until receipt seq (and the dedupe entries recorded with
// it) is written and fsynced.
func (r *Receiver) durable(seq uint64) error {
	g := r.commits
	g.mu.Lock()
	var grp *commitGroup
	var slot *syncSlot
	if seq <= g.started {
		grp = g.covering(seq)
		if grp == nil { // its commit ended already
			err := g.verdict(seq, nil)
			g.mu.Unlock()
			return err
		}
	} else {
		if g.open == nil {
			g.open = &commitGroup{done: make(chan struct{})}
		}
		grp = g.open
		if n := len(g.idle); n > 0 {
			slot = g.idle[n-1]
			g.idle = g.idle[:n-1]
			r.take(grp)
		}
	}
	g.mu.Unlock()
	if slot != nil {
		r.commit(slot, grp) // this request leads its own group: no hand-off
	}
	<-grp.done
	return grp.err
}

// take starts grp: it covers every receipt appended so far. Callers hold
// g.mu; a request joins the open group only after its receipt is
// appended, so every waiter of grp is inside it.
func (r *Receiver) take(grp *commitGroup) {
	g := r.commits
	last, _ := r.journal.status()
	grp.lo, grp.upto = g.started+1, last
	g.started = last
	g.flying = append(g.flying, grp)
	g.open = nil
	g.running.Add(1)
}

// covering is the commit in flight whose group holds seq, or nil. Callers
// hold g.mu.
func (g *groupCommit) covering(seq uint64) *commitGroup {
	for _, c := range g.flying {
		if c.lo <= seq && seq <= c.upto {
			return c
		}
	}
	return nil
}

// verdict is the outcome for receipt seq whose commit returned err.
// Callers hold g.mu.
func (g *groupCommit) verdict(seq uint64, err error) error {
	if err == nil && seq <= g.failedUpTo {
		err = errEarlierCommit
	}
	return err
}

// commit writes and fsyncs grp, then, while a group is open, hands the
// slot on to a goroutine that commits it.
func (r *Receiver) commit(slot *syncSlot, grp *commitGroup) {
	g := r.commits
	err := r.writeAndSync(slot)
	g.mu.Lock()
	if err != nil {
		last, _ := r.journal.status()
		g.failedUpTo = max(g.failedUpTo, last)
	}
	grp.err = g.verdict(grp.lo, err)
	g.flying = deleteGroup(g.flying, grp)
	close(grp.done)
	if next := g.open; next != nil {
		r.take(next)
		g.mu.Unlock()
		go r.commit(slot, next)
	} else {
		g.idle = append(g.idle, slot)
		g.mu.Unlock()
	}
	g.running.Done()
}

func deleteGroup(gs []*commitGroup, grp *commitGroup) []*commitGroup {
	for i, c := range gs {
		if c == grp {
			return append(gs[:i], gs[i+1:]...)
		}
	}
	return gs
}

// writeAndSync writes the journal and the dedupe store out (one writer at
// a time, as every flush) and then fsyncs both at once through slot's
// descriptors, outside flushMu, so that the next group can be written
// while this one waits on the disk.
func (r *Receiver) writeAndSync(slot *syncSlot) error {
	r.flushMu.Lock()
	// covered is read before the store's lines are taken: a compaction
	// during this write checkpoints it (see store.flush).
	covered, _ := r.journal.status()
	err := r.writeOut(covered, false)
	// When the journal backs the store its fsync covers the store's lines
	// too (see store): only the journal is fsynced.
	if err == nil && r.store != nil && !r.journalBacksStore() && slot.storeGen != r.store.gen {
		err = slot.reopenStore(r.store)
	}
	r.flushMu.Unlock()
	if err != nil {
		return err
	}
	var storeErr chan error
	if slot.store != nil {
		storeErr = make(chan error, 1)
		go func() { storeErr <- slot.store.Sync() }()
	}
	if slot.journal != nil {
		if jerr := slot.journal.Sync(); jerr != nil {
			r.journal.refuseRoom() // nothing written can be promised now
			err = fmt.Errorf("journal %s: %w", r.cfg.JournalPath, jerr)
		}
	}
	if storeErr != nil {
		if serr := <-storeErr; serr != nil {
			err = errors.Join(err, fmt.Errorf("dedupe store %s: %w", r.store.path, serr))
		}
	}
	r.flushed(err)
	return err
}

// reopenStore opens a descriptor of the store's current file (compaction
// replaced the one before; its rewrite fsynced what it wrote). Lines
// written to the new file before this open are covered too: a writeback
// error no descriptor has seen yet is reported to one opened later, and
// one another slot saw failed that commit, and with it (failedUpTo) every
// receipt appended before.
func (s *syncSlot) reopenStore(st *store) error {
	f, err := os.OpenFile(st.path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("dedupe store: opening it for fsync: %w", err)
	}
	if s.store != nil {
		s.store.Close()
	}
	s.store, s.storeGen = f, st.gen
	return nil
}
