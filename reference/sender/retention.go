package sender

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
	bolt "go.etcd.io/bbolt"
)

// Retention: a delivered event, its attempts and its id are removed from
// the bbolt outbox once it has been delivered for Config.Retain, so a
// sender running for days at a steady rate keeps a file of steady size
// (bbolt reuses the pages freed). Dead letters are not removed: a dead
// letter is a loss the sender knows of and can still undo (replay), and
// removing it would turn it into one nobody can see; their number grows
// with failures, not with traffic. A replayed dead letter, once
// delivered, is retained like any other delivered event.
//
// The counters (accepted, delivered, ...) live in the meta bucket and are
// never recomputed from rows, so removing rows leaves them exact; Removed
// counts what retention took.

// bSettled indexes delivered events by when they were delivered, oldest
// first, so a sweep reads only what is due: key FinalAt (8 bytes, big
// endian) | seq (8 bytes), no value.
const bSettled = "settled"

// settledIndexKey in the meta bucket marks a file whose settled index is
// complete; a file written before retention existed gets its index built
// once, when it is opened.
const settledIndexKey = "settled_index"

// sweepBatch bounds the events one sweep transaction removes (each one
// some six deletes), so the ingests and outcomes that share its commit
// wait little longer than a commit; a sweep with more to do queues its
// next batch behind them. Measured on a shared 2-core machine: 11-21 ms
// a batch of 256 events of 1 KB, commit included, against 1-5 ms for an
// empty commit; one batch per commit removes far more events a second
// than the writer can accept.
const sweepBatch = 256

// sweepEvery is how often the sender looks for due events, with
// retention, and for free pages to release (Sender.sweepEvery; a test
// sets its own): a read transaction when nothing is due, and nothing at
// all when no page was written since the last release (releaseFree), so
// it costs nothing idle.
const sweepEvery = time.Second

// appendedFill is how full bbolt fills a page it splits in the buckets
// whose keys grow with time (seq, seq|n, FinalAt|seq): events, attempts,
// settled. bbolt's default (half) suits keys written in any order; here
// every new key goes to the right end, the page left behind by a split
// is never written again, and at a half the outbox held twice the pages
// its rows need (a 1-minute soak at 500 events/s: 30,600 KB for 30,415
// events, the leaves 45-52% used). The ids bucket, keyed by random ids,
// keeps the default. A page is a page of RSS too: the file is mapped,
// and the pages a sender touches stay resident.
const appendedFill = 0.9

// stateFill is the same for the state bucket, whose records grow once an
// event is final: its final time, its attempt count and, for most, the
// attempt that delivered it (stateRecord.First), about 1.7 times the
// bytes a pending record takes with its key. A page split at more would
// split again as its events settle, into a full page and a nearly empty
// one (at 0.65, 51% used once 2,000 events were delivered; at 0.55, 85%).
const stateFill = 0.55

// packAppended sets the fill of the time-ordered buckets for this
// transaction (bbolt keeps it per handle, not in the file).
func (t *txb) packAppended() {
	for _, b := range []*bolt.Bucket{t.events, t.attempts, t.settled} {
		if b != nil {
			b.FillPercent = appendedFill
		}
	}
	if t.state != nil {
		t.state.FillPercent = stateFill
	}
}

func settledKey(finalAt int64, seq uint64) []byte {
	k := binary.BigEndian.AppendUint64(make([]byte, 0, 16), uint64(finalAt))
	return binary.BigEndian.AppendUint64(k, seq)
}

// indexSettled keeps the settled index in step with an event's state
// change (called by setState, before the new state is written).
func (t *txb) indexSettled(seq uint64, from stateCode, to *stateRecord) error {
	if from == codeDelivered && to.Code != codeDelivered {
		old, err := t.stateOf(seq)
		if err != nil {
			return err
		}
		if err := t.settled.Delete(settledKey(old.FinalAt, seq)); err != nil {
			return err
		}
	}
	if to.Code == codeDelivered && from != codeDelivered {
		return t.settled.Put(settledKey(to.FinalAt, seq), nil)
	}
	return nil
}

// buildSettledIndex indexes the delivered events of a file written
// before the index existed (one pass over the states, once).
func (t *txb) buildSettledIndex() error {
	if t.meta.Get([]byte(settledIndexKey)) != nil {
		return nil
	}
	err := t.state.ForEach(func(k, v []byte) error {
		st, err := decodeState(v)
		if err != nil {
			return fmt.Errorf("state of seq %d: %w", keySeq(k), err)
		}
		if st.Code != codeDelivered {
			return nil
		}
		return t.settled.Put(settledKey(st.FinalAt, keySeq(k)), nil)
	})
	if err != nil {
		return err
	}
	return t.meta.Put([]byte(settledIndexKey), []byte{1})
}

// due says whether an event delivered before cutoff is left.
func (t *txb) due(cutoff int64) bool {
	k, _ := t.settled.Cursor().First()
	return k != nil && int64(binary.BigEndian.Uint64(k)) < cutoff
}

// sweep removes up to limit events delivered before cutoff (Unix
// nanoseconds), with their attempts and id, and returns how many.
func (t *txb) sweep(c *counters, cutoff int64, limit int) (int, error) {
	var keys [][]byte
	cur := t.settled.Cursor()
	for k, _ := cur.First(); k != nil && len(keys) < limit; k, _ = cur.Next() {
		if int64(binary.BigEndian.Uint64(k)) >= cutoff {
			break
		}
		keys = append(keys, append([]byte(nil), k...))
	}
	for _, k := range keys {
		seq := binary.BigEndian.Uint64(k[8:])
		if err := t.remove(seq); err != nil {
			return 0, err
		}
		if err := t.settled.Delete(k); err != nil {
			return 0, err
		}
		c.Removed++
	}
	return len(keys), nil
}

// remove deletes one event's records: event, id, state, attempts.
func (t *txb) remove(seq uint64) error {
	k := seqKey(seq)
	if b := t.events.Get(k); b != nil {
		ev, err := decodeEventHead(b)
		if err != nil {
			return fmt.Errorf("event seq %d: %w", seq, err)
		}
		if err := t.ids.Delete([]byte(ev.ID)); err != nil {
			return err
		}
	}
	var attempts [][]byte
	cur := t.attempts.Cursor()
	for ak, _ := cur.Seek(k); ak != nil && len(ak) == 12 && keySeq(ak) == seq; ak, _ = cur.Next() {
		attempts = append(attempts, append([]byte(nil), ak...))
	}
	for _, ak := range attempts {
		if err := t.attempts.Delete(ak); err != nil {
			return err
		}
	}
	for _, b := range []*bolt.Bucket{t.events, t.state, t.inflight} {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// sweepDue removes every event delivered more than retain before now, a
// batch per commit, and returns how many it removed; it stops early when
// done closes. Each batch is a write queued like any other, so ingests
// queued meanwhile commit between batches.
func (o *outbox) sweepDue(now time.Time, retain time.Duration, done <-chan struct{}) (int, error) {
	cutoff := now.Add(-retain).UnixNano()
	total, batches := 0, 0
	for {
		select {
		case <-done:
			return total, nil
		default:
		}
		var due bool
		if err := o.view(func(t *txb) error { due = t.due(cutoff); return nil }); err != nil {
			return total, err
		}
		if !due {
			return total, nil
		}
		var n int
		release := batches > 0 && batches%releaseBatches == 0
		batches++
		err := o.do(func(t *txb, c *counters) error {
			// The pages the batches before freed leave memory now, not
			// once the whole backlog is removed.
			if release {
				o.releaseIn(t, c)
			}
			var err error
			n, err = t.sweep(c, cutoff, sweepBatch)
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < sweepBatch {
			return total, nil
		}
	}
}

// sweepLoop sweeps (with retention) every s.sweepEvery and releases the
// outbox's free pages after a sweep that removed events, or every
// releaseEvery sweeps, until ctx ends.
func (s *Sender) sweepLoop(ctx context.Context) {
	for n := 1; clock.Sleep(s.clock, s.sweepEvery, ctx.Done()); n++ {
		var removed int
		var err error
		if s.cfg.Retain > 0 {
			removed, err = s.ob.sweepDue(s.clock.Now(), s.cfg.Retain, ctx.Done())
		}
		if err == nil && (removed > 0 || n%releaseEvery == 0) {
			err = s.ob.releaseFree()
		}
		if err != nil {
			if errors.Is(err, ErrClosed) || errors.Is(err, ErrCrashed) || errors.Is(err, bolt.ErrDatabaseNotOpen) {
				return
			}
			s.logger.Warn("removing delivered events past retention or releasing free pages (retried in a second)", "err", err)
		}
	}
}

// notFoundEvent is what a lookup of an unknown id says: with retention,
// the id may have been removed, and the answer says so.
func (s *Sender) notFoundEvent(id string) error {
	if s.cfg.Retain > 0 {
		return notFound("no event %q: never accepted, or delivered more than %s ago and removed (retention)", id, s.cfg.Retain)
	}
	return notFound("no event %q", id)
}
