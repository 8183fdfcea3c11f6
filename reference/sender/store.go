package sender

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookrig/hookrig/reference/sender/delivery"
)

// Transaction-level operations on the outbox buckets. They keep the
// indexes (ids, pending, dlq) and the counters in step with the records,
// inside whatever transaction the caller runs.

func (t *txb) putEndpoint(r *Endpoint) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if r.Disabled {
		err = t.disabled.Put([]byte(r.ID), []byte(r.DisabledReason))
	} else {
		err = t.disabled.Delete([]byte(r.ID))
	}
	if err != nil {
		return err
	}
	return t.endpoints.Put([]byte(r.ID), b)
}

func (t *txb) deleteEndpoint(id string) error {
	if err := t.disabled.Delete([]byte(id)); err != nil {
		return err
	}
	return t.endpoints.Delete([]byte(id))
}

// endpointUsable says whether events may be accepted for an endpoint, and
// if not, why.
func (t *txb) endpointUsable(id string) (exists bool, disabledReason string, disabled bool) {
	if t.endpoints.Get([]byte(id)) == nil {
		return false, "", false
	}
	if r := t.disabled.Get([]byte(id)); r != nil {
		return true, string(r), true
	}
	return true, "", false
}

func (t *txb) endpoint(id string) (*Endpoint, error) {
	b := t.endpoints.Get([]byte(id))
	if b == nil {
		return nil, nil
	}
	var r Endpoint
	r.Policy = delivery.DefaultPolicy()
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: endpoint %s: %v", errCorrupt, id, err)
	}
	return &r, nil
}

func (t *txb) eachEndpoint(fn func(*Endpoint) error) error {
	return t.endpoints.ForEach(func(k, _ []byte) error {
		r, err := t.endpoint(string(k))
		if err != nil {
			return err
		}
		return fn(r)
	})
}

// lookup returns the seq of an event id, or 0.
func (t *txb) lookup(id string) uint64 {
	if b := t.ids.Get([]byte(id)); len(b) == 8 {
		return keySeq(b)
	}
	return 0
}

// ingest stores a new event, pending. The caller has checked the id is
// new.
func (t *txb) ingest(c *counters, ev *eventRecord) (uint64, error) {
	seq, err := t.events.NextSequence()
	if err != nil {
		return 0, err
	}
	k := seqKey(seq)
	st := stateRecord{Code: codePending, Since: ev.AcceptedAt}
	if err := t.events.Put(k, ev.encode()); err != nil {
		return 0, err
	}
	if err := t.ids.Put([]byte(ev.ID), k); err != nil {
		return 0, err
	}
	if err := t.state.Put(k, st.encode()); err != nil {
		return 0, err
	}
	if err := t.pending.Put(k, []byte(ev.Endpoint)); err != nil {
		return 0, err
	}
	c.Accepted++
	return seq, nil
}

func (t *txb) event(seq uint64) (eventRecord, error) {
	b := t.events.Get(seqKey(seq))
	if b == nil {
		return eventRecord{}, fmt.Errorf("%w: no event at seq %d", errCorrupt, seq)
	}
	return decodeEvent(b)
}

func (t *txb) stateOf(seq uint64) (stateRecord, error) {
	b := t.state.Get(seqKey(seq))
	if b == nil {
		return stateRecord{}, fmt.Errorf("%w: no state for seq %d", errCorrupt, seq)
	}
	return decodeState(b)
}

// setState writes an event's new state and moves it between the pending
// and dead-letter indexes, counting the move.
func (t *txb) setState(c *counters, seq uint64, endpoint string, from stateCode, to *stateRecord) error {
	k := seqKey(seq)
	if err := t.indexSettled(seq, from, to); err != nil {
		return err
	}
	if err := t.state.Put(k, to.encode()); err != nil {
		return err
	}
	if from == to.Code {
		return nil
	}
	switch from {
	case codePending:
		if err := t.pending.Delete(k); err != nil {
			return err
		}
	case codeDeadLettered:
		if err := t.dlq.Delete(k); err != nil {
			return err
		}
		c.DeadLettered--
	case codeDelivered:
		c.Delivered--
	}
	switch to.Code {
	case codePending:
		return t.pending.Put(k, []byte(endpoint))
	case codeDeadLettered:
		c.DeadLettered++
		return t.dlq.Put(k, nil)
	case codeDelivered:
		c.Delivered++
	}
	return nil
}

// claim marks attempt n of an event in flight and returns the event.
func (t *txb) claim(seq uint64, n uint32, at time.Time) (eventRecord, error) {
	ev, err := t.event(seq)
	if err != nil {
		return ev, err
	}
	cr := claimRecord{N: n, At: unixNano(at)}
	return ev, t.inflight.Put(seqKey(seq), cr.encode())
}

// unclaim drops the claims of attempts that never started.
func (t *txb) unclaim(back []*job) error {
	for _, j := range back {
		if err := t.inflight.Delete(seqKey(j.it.seq)); err != nil {
			return err
		}
	}
	return nil
}

// record stores an attempt and the state it led to, and drops the claim.
// An event delivered at its first attempt keeps that attempt in its state
// record.
func (t *txb) record(c *counters, seq uint64, endpoint string, a *attemptRecord, from stateCode, st *stateRecord) error {
	if err := t.inflight.Delete(seqKey(seq)); err != nil {
		return err
	}
	if a.N == 1 && st.Code == codeDelivered {
		st.First = *a
	} else if err := t.attempts.Put(attemptKey(seq, a.N), a.encode()); err != nil {
		return err
	}
	c.Attempts++
	if a.Err == string(delivery.ErrInterrupted) {
		c.Interrupted++
	}
	return t.setState(c, seq, endpoint, from, st)
}

// attemptsOf returns an event's attempts in order; first is the one its
// state record holds, if any (N 0: none, all are in the attempts bucket).
func (t *txb) attemptsOf(seq uint64, first attemptRecord) ([]attemptRecord, error) {
	var out []attemptRecord
	if first.N != 0 {
		out = append(out, first)
	}
	prefix := seqKey(seq)
	cur := t.attempts.Cursor()
	for k, v := cur.Seek(prefix); k != nil && len(k) == 12 && keySeq(k) == seq; k, v = cur.Next() {
		a, err := decodeAttempt(v)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// deadLetterPending dead-letters every pending event of an endpoint that
// is not in flight (those finish first and see the endpoint is gone), and
// returns their seqs.
func (t *txb) deadLetterPending(c *counters, endpoint, reason string, now time.Time) ([]uint64, error) {
	var seqs []uint64
	cur := t.pending.Cursor()
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		if string(v) != endpoint || t.inflight.Get(k) != nil {
			continue
		}
		seqs = append(seqs, keySeq(k))
	}
	for _, seq := range seqs {
		st, err := t.stateOf(seq)
		if err != nil {
			return nil, err
		}
		st.Code = codeDeadLettered
		st.Reason = reason
		st.FinalAt = unixNano(now)
		st.NextAt = 0
		if err := t.setState(c, seq, endpoint, codePending, &st); err != nil {
			return nil, err
		}
	}
	return seqs, nil
}

// disableEndpoint marks an endpoint disabled and dead-letters its pending
// events; it returns their seqs. Disabling twice changes nothing more.
func (t *txb) disableEndpoint(c *counters, id, reason string, now time.Time) ([]uint64, error) {
	rec, err := t.endpoint(id)
	if err != nil || rec == nil {
		return nil, err
	}
	if !rec.Disabled {
		rec.Disabled, rec.DisabledReason, rec.DisabledAt = true, reason, now.UTC()
		if err := t.putEndpoint(rec); err != nil {
			return nil, err
		}
	}
	return t.deadLetterPending(c, id, reason, now)
}
