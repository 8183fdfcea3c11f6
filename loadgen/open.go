package loadgen

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
)

// The open loop has one scheduler goroutine and one reader goroutine per
// connection ("link"). The scheduler waits for each request's intended
// time, takes an idle link and writes the request itself; the link's
// reader, already blocked reading, wakes when the answer arrives, records
// it and puts the link back on the idle list. Handing each request to a
// worker goroutine instead costs a goroutine wake-up per request, and at a
// fixed rate, where every request starts from idle, that wake-up costs the
// runtime as much again as the request (it wakes a second thread to look
// for work): measured 40 µs of CPU per request this way at 2,000 req/s,
// 50-60 µs with a hand-off.

// Link states. A link is idle (its reader blocked on a read, nothing
// asked), leased (the scheduler is filling in the request), busy (a
// request is in flight) or dead (its reader exits).
const (
	linkIdle int32 = iota
	linkLeased
	linkBusy
	linkDead
)

type link struct {
	o     *openLoop
	c     *conn
	state atomic.Int32
	slot                        // the request in flight; written while leased
	werr  atomic.Pointer[error] // the write failed: the reader files this error
	resp  response
	batch batch
}

// slot holds a link's request: its bytes and what is known of it.
type slot struct {
	req []byte
	q   sentRequest
	id  []byte // q's id and key (the composer's buffers move on)
	key []byte
}

// dispatcher is how an open loop sends what its schedule says: wait
// until a moment (doing whatever else is due meanwhile), send a request,
// and at the end let the requests in flight finish. openLoop is the
// portable one; pollLoop (Linux, plain TCP, real time) spends one wake-up
// per request instead of two.
type dispatcher interface {
	wait(until time.Time) bool
	send(t ticket, start time.Time, dur time.Duration) bool
	drain()
	close()
}

type openLoop struct {
	r        *Runner
	ctx      context.Context
	wt       waiter
	comp     *composer
	idle     chan *link    // links free for a request
	gone     chan struct{} // a link's reader exited
	links    int           // links alive, as the scheduler counts them
	draining atomic.Bool
	wg       sync.WaitGroup
	batch    batch // what the scheduler records itself
}

func (r *Runner) runOpen(ctx context.Context, start time.Time) outcome {
	// The idle list also holds links that died while idle until the
	// scheduler pops them: room for twice the links keeps a reader's push
	// from waiting on that (it would only wait until the next pop).
	var o dispatcher = newPollLoop(ctx, r)
	if o == nil {
		o = &openLoop{r: r, ctx: ctx, comp: r.newComposer(), wt: newWaiter(ctx, r.clk, r.realTime),
			idle: make(chan *link, 2*r.cfg.Concurrency), gone: make(chan struct{}, r.cfg.Concurrency)}
	}
	defer o.close()

	limit := r.cfg.Requests
	dur := r.cfg.Duration
	var n uint64
	var out outcome
	end := endUnbounded
	var stoppedAt time.Duration
	var slept time.Time // the end of the scheduler's last sleep
	for {
		if limit > 0 && n >= limit {
			end = endCount
			break
		}
		at, ok := r.sched.due(n)
		if !ok {
			end = endPacer
			break
		}
		if dur > 0 && at >= dur {
			end = endDuration
			break
		}
		intended := start.Add(at)
		wake := wakeTime(start, at, r.cfg.Precision, slept)
		if wake.After(r.clk.Now()) {
			slept = wake
		}
		if !o.wait(wake) || r.stopping.Load() {
			end, stoppedAt = endStopped, r.clk.Now().Sub(start)
			break
		}
		if !o.send(ticket{seq: n*r.shards + r.shard, intended: intended, dup: r.isDup(n)}, start, dur) {
			end, stoppedAt = endStopped, r.clk.Now().Sub(start)
			break
		}
		n++
	}
	dispatched := r.clk.Now().Sub(start)
	o.drain()
	switch end {
	case endDuration:
		out.window = dur
	case endStopped:
		// Cut short (cancelled, or the target held every connection until
		// the end): what was due by then and not sent was never sent.
		out.window = stoppedAt
		if dur > 0 && out.window > dur {
			out.window = dur
		}
		due := r.sched.count(out.window)
		out.neverSent = due - min(n, due)
	case endPacer:
		if l, ok := Length(r.pacer); ok && (dur == 0 || l < dur) {
			out.window = l
			break
		}
		out.window = dispatched
	default:
		out.window = dispatched
	}
	if out.window > 0 {
		out.asked = float64(r.sched.count(out.window)) / out.window.Seconds()
	}
	return out
}

func (o *openLoop) wait(until time.Time) bool { return o.wt.wait(until) }
func (o *openLoop) close()                    { o.wt.close() }

// minNap is the least time between two wake-ups of an open loop without
// a precision: a request due less than minNap after the last wake-up
// waits for the next one, minNap after it, and leaves with whatever else
// is due by then. Up to 5,000 req/s (200 µs apart and more) this changes
// nothing; at 20,000 req/s it sends 4 per wake-up, each at most 200 µs
// late, instead of paying a context switch and the timer's system calls
// every 50 µs. 200 µs is a fifth of the lag goal (p99 <= 1 ms), leaving
// the rest to the wait for a core.
const minNap = 200 * time.Microsecond

// wakeTime is when the scheduler wakes to send a request due at offset
// at of a run that started at start: on the precision's grid when there
// is one, else at its time but, if it comes after the end of the last
// sleep (slept; zero when it has not slept yet), no sooner than minNap
// after it.
func wakeTime(start time.Time, at, precision time.Duration, slept time.Time) time.Time {
	if precision > 0 {
		return start.Add((at + precision - 1) / precision * precision) // the grid point at or after it
	}
	wake := start.Add(at)
	if next := slept.Add(minNap); wake.After(slept) && wake.Before(next) {
		return next
	}
	return wake // due by the last wake-up (so now), or minNap after it or later
}

// Why an open loop stopped sending.
const (
	endUnbounded = iota
	endCount     // sent the requests asked for
	endPacer     // the pacer has no more
	endDuration  // the next hit is after the run's end
	endStopped   // cancelled, or the run's end came while waiting for a connection
)

// send sends t on an idle link, a new one, or — when Concurrency requests
// are in flight already — the first link to come free (the wait counts in
// the request's corrected latency). It returns false if the run ended or
// was cancelled while waiting.
func (o *openLoop) send(t ticket, start time.Time, dur time.Duration) bool {
	for {
		select {
		case l := <-o.idle:
			if l.state.CompareAndSwap(linkIdle, linkLeased) {
				o.write(l, t)
				return true
			}
			continue // it died while idle
		default:
		}
		o.reap()
		if o.links < o.r.cfg.Concurrency {
			o.spawn(t)
			return true
		}
		l, ok := o.waitLink(start, dur)
		if !ok {
			return false
		}
		if l != nil {
			o.write(l, t)
			return true
		}
	}
}

// reap counts the links whose readers exited.
func (o *openLoop) reap() {
	for {
		select {
		case <-o.gone:
			o.links--
		default:
			return
		}
	}
}

// waitLink waits for a link to come free (returned leased) or die (nil),
// until the run's end.
func (o *openLoop) waitLink(start time.Time, dur time.Duration) (*link, bool) {
	var end <-chan time.Time
	if dur > 0 {
		if !start.Add(dur).After(o.r.clk.Now()) {
			return nil, false
		}
		tm := clock.TimerAt(o.r.clk, start.Add(dur))
		defer tm.Stop()
		end = tm.C()
	}
	for {
		select {
		case l := <-o.idle:
			if l.state.CompareAndSwap(linkIdle, linkLeased) {
				return l, true
			}
		case <-o.gone:
			o.links--
			// A link that died because the run was cancelled frees no
			// room for another request.
			return nil, o.ctx.Err() == nil && !o.r.stopping.Load()
		case <-end:
			return nil, false
		case <-o.ctx.Done():
			return nil, false
		}
	}
}

// prepare composes t's request into s with comp, sent now.
func (r *Runner) prepare(comp *composer, s *slot, t ticket) error {
	now := r.clk.Now()
	req, dup, err := comp.compose(s.req[:0], t, now)
	s.req = req
	r.sent.Add(1)
	ev := &comp.ev
	s.id = append(s.id[:0], ev.id...)
	s.key = append(s.key[:0], ev.key...)
	s.q = sentRequest{seq: ev.seq, id: s.id, key: s.key, intended: t.intended, started: now, dup: dup, open: true, bytes: len(req)}
	return err
}

// write sends t on a leased link whose reader is waiting.
func (o *openLoop) write(l *link, t ticket) {
	r := o.r
	if err := r.prepare(o.comp, &l.slot, t); err != nil {
		r.record(&o.batch, &l.q, r.clk.Now(), 0, 0, errPayload)
		l.state.Store(linkIdle)
		o.idle <- l
		return
	}
	if r.realTime {
		l.c.nc.SetDeadline(l.q.started.Add(r.timeout))
	}
	r.inflight.Add(1)
	l.state.Store(linkBusy)
	if err := l.c.send(l.req); err != nil {
		// Wake the reader, which files the error.
		l.werr.Store(&err)
		l.c.nc.SetReadDeadline(time.Unix(1, 0))
	}
}

// spawn opens a new link for t: its goroutine dials, sends t, then reads.
func (o *openLoop) spawn(t ticket) {
	l := &link{o: o}
	err := o.r.prepare(o.comp, &l.slot, t)
	if err != nil {
		o.r.record(&o.batch, &l.q, o.r.clk.Now(), 0, 0, errPayload)
		return
	}
	l.state.Store(linkBusy)
	o.links++
	o.wg.Add(1)
	go l.run()
}

func (l *link) run() {
	o, r := l.o, l.o.r
	defer func() {
		r.tally.merge(&l.batch)
		if l.c != nil {
			r.dropConn(l.c)
		}
		o.gone <- struct{}{}
		o.wg.Done()
	}()
	c, err := r.dial(o.ctx)
	if err != nil {
		l.state.Store(linkDead)
		r.record(&l.batch, &l.q, r.clk.Now(), 0, 0, classify(err, r.stopping.Load()))
		return
	}
	l.c = c
	if r.realTime {
		c.nc.SetDeadline(l.q.started.Add(r.timeout))
	}
	r.inflight.Add(1)
	if err := c.send(l.req); err != nil {
		l.werr.Store(&err)
	}
	l.readLoop()
}

// readLoop reads answers until the link dies.
func (l *link) readLoop() {
	o, r := l.o, l.o.r
	for {
		var err error
		if l.werr.Load() == nil {
			err = l.c.readResponse(&l.resp)
		}
		st := l.state.Load()
		for {
			for st == linkLeased {
				// The scheduler is filling in a request: a moment.
				runtime.Gosched()
				st = l.state.Load()
			}
			if st != linkIdle || l.state.CompareAndSwap(linkIdle, linkDead) {
				break
			}
			st = l.state.Load()
		}
		if st == linkIdle || st == linkDead {
			// Nothing was asked (the server closed an idle connection, or
			// the run is draining): the link is done.
			l.state.Store(linkDead)
			return
		}
		// The answer to the request in flight, or why there is none.
		end := r.clk.Now()
		r.inflight.Add(-1)
		if p := l.werr.Swap(nil); p != nil {
			err = *p
		}
		kind := classify(err, r.stopping.Load())
		r.record(&l.batch, &l.q, end, l.resp.status, l.resp.bytes, kind)
		if err != nil || l.resp.close || l.c.buffered() || r.stopping.Load() || o.draining.Load() {
			l.state.Store(linkDead)
			return
		}
		if r.realTime {
			l.c.nc.SetReadDeadline(time.Time{}) // an idle wait has no deadline
		}
		l.resp = response{}
		l.state.Store(linkIdle)
		o.idle <- l
	}
}

// drain lets the requests in flight finish, then closes every link.
func (o *openLoop) drain() {
	o.draining.Store(true)
	o.reap()
	for o.links > 0 {
		select {
		case l := <-o.idle:
			if l.state.CompareAndSwap(linkIdle, linkDead) {
				l.c.nc.SetReadDeadline(time.Unix(1, 0)) // wakes its reader, which exits
			}
		case <-o.gone:
			o.links--
		}
	}
	o.wg.Wait()
	o.r.tally.merge(&o.batch)
}
