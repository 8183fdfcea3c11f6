package sender

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/reference/sender/delivery"
)

// dispatcher turns pending events into attempts. One goroutine (loop)
// picks due events, within each endpoint's concurrency limit and circuit
// breaker, and claims them in the outbox; workers send them; finish asks
// the Policy what follows and records it. Every decision goes through
// Policy, BreakerPolicy and Lanes, the pure pieces the simulator shares.
type dispatcher struct {
	clock     clock.Clock
	client    *http.Client
	onAttempt func(AttemptReport)
	metrics   *senderMetrics
	logger    *slog.Logger
	ob        *outbox
	workers   int
	jobs      chan *job
	wake      chan struct{}

	mu        sync.Mutex
	jitter    *delivery.Jitter // only used under mu
	endpoints map[string]*endpointRT
	items     map[uint64]*item // every pending event
	lanes     delivery.Lanes
	inflight  int
	idle      chan struct{} // closed when inflight drops to 0, if someone waits
}

// job is one attempt on its way.
type job struct {
	it        *item
	n         uint32 // webhook-attempt
	claimedAt time.Time
	ev        eventRecord // read by the claim
}

func newDispatcher(clk clock.Clock, jitter *delivery.Jitter, workers int, client *http.Client, logger *slog.Logger, ob *outbox) *dispatcher {
	return &dispatcher{
		clock: clk, jitter: jitter, workers: workers, client: client, logger: logger, ob: ob,
		jobs:      make(chan *job, workers),
		wake:      make(chan struct{}, 1),
		endpoints: make(map[string]*endpointRT),
		items:     make(map[uint64]*item),
	}
}

func (d *dispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// add makes a pending event known: it waits in its lane (ordered delivery)
// or joins its endpoint's ready heap. Caller holds mu.
func (d *dispatcher) add(it *item) {
	it.idx = -1
	d.items[it.seq] = it
	if it.ordered() && !d.lanes.Add(it.lane(), it.seq) {
		return
	}
	it.ep.ready.push(it)
}

// final forgets an event that reached its final state and lets the next
// one of its lane go. Caller holds mu.
func (d *dispatcher) final(it *item, now time.Time) {
	delete(d.items, it.seq)
	it.ep.ready.remove(it)
	if !it.ordered() {
		return
	}
	if next, ok := d.lanes.Done(it.lane(), it.seq); ok {
		if n := d.items[next]; n != nil {
			n.due = later(n.due, now)
			n.ep.ready.push(n)
		}
	}
}

// finalAll forgets events dead-lettered together. Caller holds mu.
func (d *dispatcher) finalAll(seqs []uint64, now time.Time) {
	for _, seq := range seqs {
		if it := d.items[seq]; it != nil {
			d.final(it, now)
		}
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// loop dispatches until ctx ends.
func (d *dispatcher) loop(ctx context.Context) {
	for {
		next := d.pick()
		var timer clock.Timer
		var fire <-chan time.Time
		if !next.IsZero() {
			timer = clock.TimerAt(d.clock, next) // a moment: a fake clock advanced meanwhile cannot make it late
			fire = timer.C()
		}
		select {
		case <-ctx.Done():
		case <-d.wake:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// pick claims every event that may be attempted now and returns when to
// look again (zero: only when woken). The claim is queued under mu, so it
// is ordered with endpoint changes (see DeleteEndpoint).
func (d *dispatcher) pick() (next time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.clock.Now()
	var jobs []*job
	defer func() {
		if len(jobs) > 0 {
			d.claim(jobs, now)
		}
	}()
	earliest := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	for _, ep := range d.endpoints {
		if ep.disabled {
			continue
		}
		for ep.ready.Len() > 0 && ep.inflight < ep.policy.Concurrency {
			if d.inflight >= d.workers {
				return time.Time{} // a finishing attempt wakes us
			}
			it := ep.ready[0]
			if it.due.After(now) {
				earliest(it.due)
				break
			}
			ok, bs := ep.policy.Breaker.Allow(ep.breaker, now)
			ep.breaker = bs
			if !ok {
				if bs.Phase == delivery.BreakerOpen {
					earliest(bs.OpenUntil)
				}
				break // half-open: the probe's outcome wakes us
			}
			ep.ready.pop()
			ep.inflight++
			d.inflight++
			jobs = append(jobs, &job{it: it, n: it.total + 1, claimedAt: now})
		}
	}
	return next
}

// claim records the attempts as in flight, durably, before any request
// leaves: after a crash each leftover claim is an attempt whose outcome
// is unknown, reported as interrupted instead of silently repeated.
func (d *dispatcher) claim(jobs []*job, now time.Time) {
	d.ob.submit(func(t *txb, c *counters) error {
		for _, j := range jobs {
			ev, err := t.claim(j.it.seq, j.n, now)
			if err != nil {
				return err
			}
			j.ev = ev
		}
		return nil
	}, func(err error) {
		if err == nil {
			for _, j := range jobs {
				d.jobs <- j // never blocks: inflight <= workers = cap(jobs)
			}
			return
		}
		if !errors.Is(err, ErrClosed) && !errors.Is(err, ErrCrashed) {
			d.logger.Error("claiming attempts in the outbox", "err", err)
		}
		d.mu.Lock()
		for _, j := range jobs {
			d.release(j.it.ep)
			j.it.due = now.Add(time.Second)
			j.it.ep.ready.push(j.it)
		}
		d.mu.Unlock()
		d.poke()
	})
}

// release frees an attempt's slots. Caller holds mu.
func (d *dispatcher) release(ep *endpointRT) {
	ep.inflight--
	d.inflight--
	if d.inflight == 0 && d.idle != nil {
		close(d.idle)
		d.idle = nil
	}
}

// work runs attempts until quit closes.
func (d *dispatcher) work(ctx context.Context, quit <-chan struct{}) {
	for {
		select {
		case <-quit:
			return
		case j := <-d.jobs:
			o, a := d.send(ctx, j)
			// An attempt cut short by the sender stopping has no outcome.
			cancelled := ctx.Err() != nil && o.Err != delivery.ErrNone && o.Err != delivery.ErrTimeout
			d.finish(j, o, a, cancelled)
		}
	}
}

// finish decides what follows an attempt and records it. cancelled means
// the sender stopped during the attempt: nothing is recorded, and the
// claim left in the outbox reports it as interrupted on the next start.
func (d *dispatcher) finish(j *job, o delivery.Outcome, a attemptRecord, cancelled bool) {
	it, ep := j.it, j.it.ep
	d.mu.Lock()
	d.release(ep)
	if cancelled {
		d.mu.Unlock()
		return
	}
	now := d.clock.Now()
	// A 410 stops attempts to the endpoint now; the record below makes
	// it durable and dead-letters what waits for it.
	dec, st, es := delivery.Settle(ep.state(), it.st, o, now, d.jitter, it.id)
	ep.setState(es)
	// The outcome is queued under mu, so it is ordered with endpoint
	// changes (see DeleteEndpoint).
	defer d.poke() // a slot is free
	defer d.mu.Unlock()

	var dead []uint64
	d.ob.submit(func(t *txb, c *counters) error {
		rec, err := t.stateOf(it.seq)
		if err != nil {
			return err
		}
		from := rec.Code
		rec.Attempts = uint32(st.Attempts)
		rec.Total = j.n
		switch dec.Kind {
		case delivery.Delivered:
			rec.Code, rec.NextAt, rec.FinalAt, rec.Reason = codeDelivered, 0, unixNano(now), ""
		case delivery.RetryAt:
			rec.NextAt = unixNano(dec.At)
		default:
			rec.Code, rec.NextAt, rec.FinalAt, rec.Reason = codeDeadLettered, 0, unixNano(now), dec.Reason
		}
		if err := t.record(c, it.seq, ep.id, &a, from, &rec); err != nil {
			return err
		}
		dead = nil
		if dec.Kind == delivery.DisableEndpoint {
			dead, err = t.disableEndpoint(c, ep.id, delivery.GoneReason, now)
		}
		return err
	}, func(err error) {
		d.mu.Lock()
		switch {
		case errors.Is(err, ErrClosed), errors.Is(err, ErrCrashed):
			d.mu.Unlock()
			return // the claim stays; the next start reports the attempt
		case err != nil:
			d.logger.Error("recording an attempt in the outbox", "event", it.id, "err", err)
			it.due = now.Add(time.Second)
			it.ep.ready.push(it)
			d.mu.Unlock()
			return
		}
		it.st, it.total = st, j.n
		if dec.Kind == delivery.RetryAt {
			it.due = dec.At
			ep.ready.push(it)
		} else {
			d.final(it, now)
		}
		d.finalAll(dead, now)
		d.mu.Unlock()
		d.poke()
		switch dec.Kind {
		case delivery.DeadLetter:
			d.logger.Warn("event dead-lettered", "event", it.id, "endpoint", ep.id, "reason", dec.Reason)
		case delivery.DisableEndpoint:
			d.logger.Warn("endpoint disabled", "endpoint", ep.id, "event", it.id, "reason", dec.Reason, "dead_lettered", len(dead)+1)
		}
		d.report(it, &a, dec)
	})
}

// report tells Config.OnAttempt about a durable attempt.
func (d *dispatcher) report(it *item, a *attemptRecord, dec delivery.Decision) {
	d.metrics.attempted(it.ep.id, it.st.FirstAt, a, dec.Kind)
	if d.onAttempt == nil {
		return
	}
	d.onAttempt(newReport(it.id, it.seq, it.ep.id, it.key, a, dec))
}

func newReport(id string, seq uint64, endpoint, key string, a *attemptRecord, dec delivery.Decision) AttemptReport {
	r := AttemptReport{EventID: id, Seq: seq, Endpoint: endpoint, Key: key,
		Attempt: a.public(), Decision: dec.Kind, Reason: dec.Reason}
	if dec.Kind == delivery.RetryAt {
		r.NextAt = dec.At
	}
	return r
}

// waitIdle waits until no attempt is in flight or stop fires.
func (d *dispatcher) waitIdle(stop <-chan time.Time) bool {
	d.mu.Lock()
	if d.inflight == 0 {
		d.mu.Unlock()
		return true
	}
	if d.idle == nil {
		d.idle = make(chan struct{})
	}
	idle := d.idle
	d.mu.Unlock()
	select {
	case <-idle:
		return true
	case <-stop:
		return false
	}
}
