package loadgen

import (
	"strconv"
	"time"
)

// ticket is one request to send.
type ticket struct {
	seq      uint64
	intended time.Time // zero in a closed loop
	dup      bool
}

// outcome is what a loop knows at its end that the tally does not.
type outcome struct {
	window    time.Duration // the span requests were due in
	neverSent uint64
	asked     float64 // asked rate over the window
}

// composer builds requests: it names and numbers events, renders their
// bodies, keeps the last event for duplicates and writes the wire bytes,
// all in buffers reused from one request to the next. Each sending
// goroutine has its own.
type composer struct {
	r      *Runner
	render *renderer
	ev     event
	id     []byte
	key    []byte
	body   []byte
	wrap   []byte // ingest envelope
	// the previous event, which a duplicate sends again
	lastID, lastKey, lastBody []byte
	lastSeq                   uint64
	hasLast                   bool
}

func (r *Runner) newComposer() *composer {
	return &composer{r: r, render: r.payload.newRenderer(r.cfg.Seed)}
}

// compose writes the request for t, sent at now, into dst. The event it
// describes (c.ev) stays valid until the next compose. dup says whether it
// re-sends the previous event.
func (c *composer) compose(dst []byte, t ticket, now time.Time) (req []byte, dup bool, err error) {
	r := c.r
	ev := &c.ev
	ev.at, ev.typ, ev.shard = now, r.cfg.EventType, r.cfg.Shard
	if t.dup && c.hasLast {
		ev.id, ev.key, ev.seq = c.lastID, c.lastKey, c.lastSeq
		return r.target.build(dst, ev, c.lastBody, &c.wrap), true, nil
	}
	ev.seq = t.seq
	c.id = strconv.AppendUint(append(c.id[:0], r.cfg.IDPrefix...), t.seq, 10)
	c.key = c.key[:0]
	if r.cfg.Keys > 0 {
		c.key = strconv.AppendUint(append(c.key, "key-"...), t.seq%uint64(r.cfg.Keys), 10)
	}
	ev.id, ev.key = c.id, c.key
	c.body, err = c.render.render(c.body[:0], ev)
	if err != nil {
		return dst[:0], false, err
	}
	req = r.target.build(dst, ev, c.body, &c.wrap)
	// This event is the one a duplicate will send again: swap buffers
	// rather than copy.
	c.lastID, c.id = c.id, c.lastID
	c.lastKey, c.key = c.key, c.lastKey
	c.lastBody, c.body = c.body, c.lastBody
	c.lastSeq, c.hasLast = ev.seq, true
	ev.id, ev.key = c.lastID, c.lastKey
	return req, false, nil
}

// sentRequest is what is known of a request between its sending and its
// answer.
type sentRequest struct {
	seq      uint64
	id, key  []byte
	intended time.Time // equals started in a closed loop
	started  time.Time
	dup      bool
	open     bool // paced: there is a scheduler lag to record
	bytes    int
}

// record files a finished request: its sample in the batch (merged into
// the tally when the batch is full or old) and the OnSent report.
func (r *Runner) record(b *batch, q *sentRequest, end time.Time, status int, resp int64, kind errKind) {
	s := sample{
		corrected: int64(end.Sub(q.intended)), uncorrected: int64(end.Sub(q.started)), lag: -1,
		sent: int64(q.bytes), recv: resp, status: uint16(status), err: kind, dup: q.dup,
	}
	if q.open {
		s.lag = int64(q.started.Sub(q.intended))
	}
	if kind != errNone {
		s.status, status = 0, 0
	}
	if b.add(s, end) {
		r.tally.merge(b)
	}
	if r.cfg.OnSent != nil {
		r.cfg.OnSent(Sent{Seq: q.seq, ID: string(q.id), Key: string(q.key), Intended: q.intended, Started: q.started,
			Latency: end.Sub(q.started), Status: status, Err: kind.String(), Duplicate: q.dup})
	}
}
