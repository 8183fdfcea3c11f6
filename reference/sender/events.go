package sender

import (
	"context"
	"fmt"

	"github.com/hookrig/hookrig/reference/sender/delivery"
)

// Enqueue accepts events and returns their ids once they are durable: an
// id returned here survives any crash. An event given with an id that was
// already accepted is not accepted again; its id is returned. The batch is
// all or nothing.
//
// ctx is checked before anything is written; once the write is queued,
// Enqueue waits for its commit (a few milliseconds) rather than return
// while the outcome is unknown.
func (s *Sender) Enqueue(ctx context.Context, specs []EventSpec) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.enqueue(specs, true)
}

// enqueue does Enqueue; batch says whether errors name an index
// ("events[3].type: ...").
func (b *boltStore) enqueue(specs []EventSpec, batch bool) ([]string, error) {
	s := (*Sender)(b)
	if err := s.usable(); err != nil {
		return nil, err
	}
	where := whereIn(batch)
	if err := checkBatchSize(len(specs)); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	recs := make([]eventRecord, len(specs))
	s.d.mu.Lock()
	for i := range specs {
		e := &specs[i]
		if err := checkEvent(e); err != nil {
			s.d.mu.Unlock()
			return nil, invalid("%s%v", where(i), err)
		}
		ep := s.d.endpoints[e.Endpoint]
		if ep == nil {
			s.d.mu.Unlock()
			return nil, invalid("%sendpoint: no endpoint %q", where(i), e.Endpoint)
		}
		if ep.disabled {
			reason := ep.reason // read under mu: finish writes it
			s.d.mu.Unlock()
			return nil, conflict("%sendpoint: %q is disabled (%s); enable it with POST /v1/endpoints/%s/enable", where(i), e.Endpoint, reason, e.Endpoint)
		}
		id := e.ID
		if id == "" {
			id = newID("msg_", now)
		}
		recs[i] = eventRecord{ID: id, Endpoint: e.Endpoint, Type: e.Type, Key: e.Key, Payload: e.Payload, AcceptedAt: now.UnixNano()}
	}
	s.d.mu.Unlock()

	seqs := make([]uint64, len(recs))
	fresh := make([]bool, len(recs))
	errc := make(chan error, 1)
	s.ob.submit(func(t *txb, c *counters) error {
		// The endpoint may have changed since the check above: the
		// outbox decides, in the same order the dispatcher sees.
		checked := make(map[string]bool, 1)
		for i := range recs {
			r := &recs[i]
			if seq := t.lookup(r.ID); seq != 0 {
				seqs[i], fresh[i] = seq, false
				continue
			}
			if !checked[r.Endpoint] {
				exists, why, disabled := t.endpointUsable(r.Endpoint)
				switch {
				case !exists:
					return invalid("%sendpoint: no endpoint %q", where(i), r.Endpoint)
				case disabled:
					return conflict("%sendpoint: %q is disabled (%s)", where(i), r.Endpoint, why)
				}
				checked[r.Endpoint] = true
			}
			seq, err := t.ingest(c, r)
			if err != nil {
				return err
			}
			seqs[i], fresh[i] = seq, true
		}
		return nil
	}, func(err error) {
		if err == nil {
			s.d.mu.Lock()
			for i := range recs {
				if !fresh[i] {
					continue
				}
				ep := s.d.endpoints[recs[i].Endpoint]
				st := delivery.DeliveryState{FirstAt: now}
				s.d.add(&item{seq: seqs[i], id: recs[i].ID, ep: ep, key: recs[i].Key, st: st,
					due: delivery.FirstDue(ep.policy, now, s.d.jitter, recs[i].ID)})
			}
			s.d.mu.Unlock()
			s.d.poke()
		}
		errc <- err
	})
	if err := <-errc; err != nil {
		return nil, s.stopped(err)
	}
	ids := make([]string, len(recs))
	for i := range recs {
		ids[i] = recs[i].ID
	}
	return ids, nil
}

// Event returns one event with every attempt.
func (b *boltStore) event(id string) (Event, error) {
	s := (*Sender)(b)
	if err := s.usable(); err != nil {
		return Event{}, err
	}
	var e Event
	err := s.ob.view(func(t *txb) error {
		seq := t.lookup(id)
		if seq == 0 {
			return s.notFoundEvent(id)
		}
		var err error
		e, err = t.fullEvent(seq)
		return err
	})
	return e, s.stopped(err)
}

func (t *txb) fullEvent(seq uint64) (Event, error) {
	ev, err := t.event(seq)
	if err != nil {
		return Event{}, err
	}
	st, err := t.stateOf(seq)
	if err != nil {
		return Event{}, err
	}
	attempts, err := t.attemptsOf(seq, st.First)
	if err != nil {
		return Event{}, err
	}
	return newEvent(seq, &ev, &st, attempts), nil
}

// EventsPage returns up to limit events accepted after seq after, in
// acceptance order.
func (b *boltStore) eventsPage(after uint64, limit int) ([]Event, error) {
	s := (*Sender)(b)
	if err := s.usable(); err != nil {
		return nil, err
	}
	out := []Event{}
	err := s.ob.view(func(t *txb) error {
		cur := t.events.Cursor()
		for k, _ := cur.Seek(seqKey(after + 1)); k != nil && len(out) < limit; k, _ = cur.Next() {
			e, err := t.fullEvent(keySeq(k))
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	return out, s.stopped(err)
}

// Events calls fn for every event, with its attempts, in acceptance order,
// until fn returns false. It reads in pages, so fn may run long without
// holding the outbox.
func (s *Sender) Events(fn func(Event) bool) error {
	var after uint64
	for {
		page, err := s.EventsPage(after, 1000)
		if err != nil {
			return err
		}
		for _, e := range page {
			if !fn(e) {
				return nil
			}
		}
		if len(page) < 1000 {
			return nil
		}
		after = page[len(page)-1].Seq
	}
}

// DLQ returns up to limit dead-lettered events after seq after, oldest
// first.
func (b *boltStore) dlq(after uint64, limit int) ([]DLQEntry, error) {
	s := (*Sender)(b)
	if err := s.usable(); err != nil {
		return nil, err
	}
	out := []DLQEntry{}
	err := s.ob.view(func(t *txb) error {
		cur := t.dlq.Cursor()
		for k, _ := cur.Seek(seqKey(after + 1)); k != nil && len(out) < limit; k, _ = cur.Next() {
			seq := keySeq(k)
			ev, err := decodeEventHead(t.events.Get(k))
			if err != nil {
				return err
			}
			st, err := t.stateOf(seq)
			if err != nil {
				return err
			}
			out = append(out, DLQEntry{ID: ev.ID, Seq: seq, Endpoint: ev.Endpoint, Type: ev.Type, Key: ev.Key,
				Reason: st.Reason, At: fromUnixNano(st.FinalAt), Attempts: int(st.Total)})
		}
		return nil
	})
	return out, s.stopped(err)
}

// Replay sends dead-lettered events again, with a fresh policy budget
// (attempts and age count from now; webhook-attempt keeps counting up).
// With ordered delivery a replayed event joins the back of its key's lane.
// With ids, each must be dead-lettered and its endpoint enabled, or
// nothing is replayed; with none, every dead letter whose endpoint can
// take it is replayed and the others are listed as skipped.
func (b *boltStore) replay(ids []string) (Replayed, error) {
	s := (*Sender)(b)
	if err := s.usable(); err != nil {
		return Replayed{}, err
	}
	all := len(ids) == 0
	now := s.clock.Now()
	type replayed struct {
		seq uint64
		ev  eventRecord
		st  stateRecord
	}
	var done []replayed
	var res Replayed
	errc := make(chan error, 1)
	s.ob.submit(func(t *txb, c *counters) error {
		done, res = nil, Replayed{IDs: []string{}}
		var seqs []uint64
		if all {
			cur := t.dlq.Cursor()
			for k, _ := cur.First(); k != nil; k, _ = cur.Next() {
				seqs = append(seqs, keySeq(k))
			}
		} else {
			for _, id := range ids {
				seq := t.lookup(id)
				if seq == 0 {
					return s.notFoundEvent(id)
				}
				seqs = append(seqs, seq)
			}
		}
		for _, seq := range seqs {
			ev, err := decodeEventHead(t.events.Get(seqKey(seq)))
			if err != nil {
				return err
			}
			st, err := t.stateOf(seq)
			if err != nil {
				return err
			}
			if st.Code != codeDeadLettered {
				if all {
					continue
				}
				return conflict("event %q is %s, not dead-lettered", ev.ID, st.Code)
			}
			ep, err := t.endpoint(ev.Endpoint)
			if err != nil {
				return err
			}
			why := ""
			switch {
			case ep == nil:
				why = fmt.Sprintf("endpoint %q was deleted", ev.Endpoint)
			case ep.Disabled:
				why = fmt.Sprintf("endpoint %q is disabled (%s); enable it first", ev.Endpoint, ep.DisabledReason)
			}
			if why != "" {
				if all {
					res.Skipped = append(res.Skipped, Skipped{ID: ev.ID, Reason: why})
					continue
				}
				return conflict("event %q: %s", ev.ID, why)
			}
			next := st
			next.Code, next.Attempts, next.Since, next.NextAt, next.FinalAt, next.Reason = codePending, 0, unixNano(now), 0, 0, ""
			next.Replays++
			if err := t.setState(c, seq, ev.Endpoint, codeDeadLettered, &next); err != nil {
				return err
			}
			c.Replayed++
			done = append(done, replayed{seq, ev, next})
			res.IDs = append(res.IDs, ev.ID)
		}
		return nil
	}, func(err error) {
		if err == nil {
			s.d.mu.Lock()
			for _, r := range done {
				ep := s.d.endpoints[r.ev.Endpoint]
				s.d.add(&item{seq: r.seq, id: r.ev.ID, ep: ep, key: r.ev.Key, total: r.st.Total,
					st: delivery.DeliveryState{FirstAt: now}, due: delivery.FirstDue(ep.policy, now, s.d.jitter, r.ev.ID)})
			}
			s.d.mu.Unlock()
			s.d.poke()
		}
		errc <- err
	})
	if err := <-errc; err != nil {
		return Replayed{}, s.stopped(err)
	}
	return res, nil
}
