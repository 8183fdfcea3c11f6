package sender

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/reference/sender/delivery"
)

// dispatcher turns pending events into attempts. One goroutine (loop)
// picks due events, endpoints taking turns within their fair share of the
// workers and what their flow allows (window, pause, rate, circuit
// breaker), and claims them in the outbox; workers send them; finish asks
// the Policy what follows and records it. Every decision goes through
// delivery (Admit, Split, RoundRobin, Settle, Lanes), the pure pieces
// the simulator shares.
type dispatcher struct {
	clock     clock.Clock
	client    *http.Client
	wire      *wireTransport // client's transport when it is the sender's own, else nil
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
	ring      []*endpointRT // the endpoints in turn order (see turns)
	turn      int           // where the next round of turns starts
	inflight  int           // attempts on the wire
	admitted  int           // attempts claimed, not started, not claimed ahead
	ahead     int           // attempts claimed ahead, not started
	idle      chan struct{} // closed when inflight drops to 0, if someone waits
}

// job is one attempt on its way: claimed, then started.
type job struct {
	it        *item
	n         uint32 // webhook-attempt
	claimedAt time.Time
	ev        eventRecord // read by the claim
	// ahead: claimed while its endpoint was steady, beyond what it may
	// start now; it may be handed back unsent.
	ahead bool
	// durable: the claim is committed, so the attempt may start. back:
	// handed back (or dropped with its endpoint) before it started.
	// Both are read and written under the dispatcher's mu.
	durable, back bool
}

func newDispatcher(clk clock.Clock, jitter *delivery.Jitter, workers int, client *http.Client, logger *slog.Logger, ob *outbox) *dispatcher {
	return &dispatcher{
		clock: clk, jitter: jitter, workers: workers, client: client, logger: logger, ob: ob,
		jobs:      make(chan *job, workers),
		wake:      make(chan struct{}, 1),
		endpoints: make(map[string]*endpointRT),
		items:     make(map[uint64]*item),
		wire:      wireOf(client),
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

// pick starts the claimed attempts that may start now, claims every
// event that may be attempted now or soon, and returns when to look
// again (zero: only when woken). Claims are queued under mu, so they are
// ordered with endpoint changes (see DeleteEndpoint).
//
// Endpoints take turns (delivery.RoundRobin), one attempt each per turn,
// each within its fair share of the workers (delivery.Split: the suspect
// endpoints, whose last attempt got no answer, share a quarter of them)
// and what delivery.Admit allows (its window, pause, rate and breaker):
// endpoints that never answer cannot take the workers of those that do.
//
// Claiming ahead: an attempt goes on the wire only once its claim is
// durable (a crash must find it and report it interrupted), and that
// commit takes a millisecond or more. A steady endpoint therefore has
// attempts claimed ahead of its window (delivery.Endpoint.Ahead), so that
// a finished attempt's slot takes the next one at once instead of
// waiting for a commit; their claims share commits with the outcomes of
// the attempts before them. Admitting an attempt to a steady endpoint
// takes nothing but a slot, so claims made ahead are handed back unsent (their claims dropped, their
// events waiting again) as soon as the endpoint stops being steady
// (a pause, a circuit no longer closed, pacing, no answer), is deleted or
// disabled, or the sender stops. What it costs: a crash reports the
// attempts claimed ahead as interrupted, as it does those on the wire,
// and retries them.
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
	ring := d.turns()
	split := delivery.Split{Workers: d.workers}
	var back []*job
	for _, ep := range ring {
		es := ep.state()
		if len(ep.claims) > ep.admitted && !ep.disabled && !es.Steady(now) {
			back = append(back, d.takeClaims(ep, true)...)
		}
		due := len(ep.claims) > 0 || ep.ready.Len() > 0 && !ep.ready[0].due.After(now)
		if es.Wants(ep.inflight+len(ep.claims), due, now) {
			split.Want(es.Flow.Suspect(), ep.inflight+len(ep.claims))
		}
	}
	if len(back) > 0 {
		d.handBack(back)
	}
	d.turn = delivery.RoundRobin(len(ring), d.turn, func(i int) bool {
		ep := ring[i]
		if ep.disabled {
			return false
		}
		es := ep.state()
		suspect := es.Flow.Suspect()
		share := split.Share(suspect)
		if d.inflight < d.workers && ep.inflight < es.Limit(share) && d.start(ep) {
			return true
		}
		if ep.ready.Len() == 0 {
			return false // a finishing attempt or a commit wakes us
		}
		it := ep.ready[0]
		if it.due.After(now) {
			earliest(it.due)
			return false
		}
		// A steady endpoint claims ahead, the sender as a whole at most
		// AheadFactor times its workers; the others claim what may start.
		room := es.Ahead(share, now)
		steady := room > 0
		if steady && d.ahead >= delivery.AheadFactor*d.workers || !steady && d.inflight+d.admitted >= d.workers {
			return false
		}
		ok, again := delivery.Admit(&es, ep.inflight+len(ep.claims)-room, share, now)
		ep.setState(es)
		if !ok {
			if !again.IsZero() {
				earliest(again)
			}
			return false
		}
		ep.ready.pop()
		j := &job{it: it, n: it.total + 1, claimedAt: now, ahead: steady}
		ep.claims = append(ep.claims, j)
		if steady {
			d.ahead++
		} else {
			ep.admitted++
			d.admitted++
		}
		split.Took(suspect)
		jobs = append(jobs, j)
		return true
	})
	return next
}

// start sends the endpoint's oldest durable claim to a worker, if it has
// one. Caller holds mu and has checked there is room.
func (d *dispatcher) start(ep *endpointRT) bool {
	for i, j := range ep.claims {
		if !j.durable {
			continue
		}
		ep.claims = slices.Delete(ep.claims, i, i+1)
		d.unclaimed(ep, j)
		ep.inflight++
		d.inflight++
		d.jobs <- j // never blocks: inflight <= workers = cap(jobs)
		return true
	}
	return false
}

// unclaimed counts a claim out of the claims not started. Caller holds
// mu and has taken j out of ep.claims.
func (d *dispatcher) unclaimed(ep *endpointRT, j *job) {
	if j.ahead {
		d.ahead--
	} else {
		ep.admitted--
		d.admitted--
	}
}

// takeClaims takes the endpoint's claims not started out of the
// schedule and marks them handed back: only those claimed ahead, or
// all. The caller drops them from the outbox (handBack, or with the
// change that stops the endpoint). Caller holds mu.
func (d *dispatcher) takeClaims(ep *endpointRT, onlyAhead bool) []*job {
	var taken []*job
	kept := ep.claims[:0]
	for _, j := range ep.claims {
		if onlyAhead && !j.ahead {
			kept = append(kept, j)
			continue
		}
		j.back = true
		d.unclaimed(ep, j)
		taken = append(taken, j)
	}
	clear(ep.claims[len(kept):])
	ep.claims = kept
	return taken
}

// handBack drops the claims of attempts that never started and lets
// their events wait again, as they were. Caller holds mu (the change is
// ordered with the claims and endpoint changes queued under it).
func (d *dispatcher) handBack(back []*job) {
	d.ob.submit(func(t *txb, c *counters) error {
		return t.unclaim(back)
	}, func(err error) {
		switch {
		case errors.Is(err, ErrClosed), errors.Is(err, ErrCrashed):
			return // the claims stay: the next start reports them interrupted
		case err != nil:
			// The claims stay; the next claim of each event overwrites
			// its own.
			d.logger.Error("handing back claimed attempts in the outbox", "err", err)
		}
		d.mu.Lock()
		d.requeue(back)
		d.mu.Unlock()
		d.poke()
	})
}

// requeue lets the events of attempts handed back wait again, those
// still pending. Caller holds mu.
func (d *dispatcher) requeue(back []*job) {
	for _, j := range back {
		if it := j.it; d.items[it.seq] == it && it.idx < 0 {
			it.ep.ready.push(it)
		}
	}
}

// turns returns the endpoints in the order they take turns, by id. It is
// rebuilt when endpoints come or go. Caller holds mu.
func (d *dispatcher) turns() []*endpointRT {
	fresh := len(d.ring) == len(d.endpoints)
	for _, ep := range d.ring {
		if !fresh || d.endpoints[ep.id] != ep {
			fresh = false
			break
		}
	}
	if !fresh {
		d.ring = slices.SortedFunc(maps.Values(d.endpoints), func(a, b *endpointRT) int { return strings.Compare(a.id, b.id) })
	}
	return d.ring
}

// claim records the attempts as in flight, durably, before any request
// leaves: after a crash each leftover claim is an attempt whose outcome
// is unknown, reported as interrupted instead of silently repeated. Once
// committed, pick starts them.
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
		if err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, ErrCrashed) {
			d.logger.Error("claiming attempts in the outbox", "err", err)
		}
		d.mu.Lock()
		for _, j := range jobs {
			switch {
			case j.back: // handed back meanwhile: whoever took it drops the claim
			case err == nil:
				j.durable = true
			default:
				ep := j.it.ep
				ep.claims = slices.DeleteFunc(ep.claims, func(x *job) bool { return x == j })
				d.unclaimed(ep, j)
				j.it.due = now.Add(time.Second)
				ep.ready.push(j.it)
			}
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
	es := ep.state()
	st := it.st // the event keeps its state until the outcome is durable
	dec := delivery.Settle(&es, &st, o, now, d.jitter, it.id)
	ep.setState(es)
	// The outcome is queued under mu, so it is ordered with endpoint
	// changes (see DeleteEndpoint).
	defer d.poke() // a slot is free
	defer d.mu.Unlock()

	// A 410 dead-letters what waits for the endpoint, its claims not
	// started included: they are dropped with the change.
	var back []*job
	if dec.Kind == delivery.DisableEndpoint {
		back = d.takeClaims(ep, false)
	}
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
			if err := t.unclaim(back); err != nil {
				return err
			}
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
			d.requeue(back)
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

// flowOf returns how the dispatcher sends to endpoint id now.
func (d *dispatcher) flowOf(id string) (EndpointFlow, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ep := d.endpoints[id]
	if ep == nil {
		return EndpointFlow{}, false
	}
	es := ep.state()
	f := EndpointFlow{InFlight: ep.inflight, Concurrency: es.Window(), Rate: es.Rate(),
		AttemptsThrottled: es.Flow.Throttled, Breaker: ep.breaker.Phase.String()}
	if now := d.clock.Now(); now.Before(es.Flow.PausedUntil) {
		f.PausedUntil = es.Flow.PausedUntil
	}
	return f, true
}

// countFlow adds an endpoint's throttling to the stats. Caller holds mu.
func countFlow(st *Stats, ep *endpointRT, now time.Time) {
	es := ep.state()
	st.AttemptsThrottled += es.Flow.Throttled
	if now.Before(es.Flow.PausedUntil) {
		st.PausedEndpoints++
	}
	if es.Rate() > 0 {
		st.PacedEndpoints++
	}
}
