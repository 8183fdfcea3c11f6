// Package sender is hookrig's reference webhook sender: an ingest API, a
// durable outbox on bbolt with group commit, a sans-I/O delivery policy
// (backoff with full jitter or an explicit schedule, Retry-After, 410
// Gone, max attempts and age, circuit breaker, ordered keys), a dispatcher
// that signs every attempt afresh (Standard Webhooks), and a dead-letter
// queue with replay.
//
// An event is acknowledged only once it is on disk; after a crash the
// sender resumes where it stopped, and attempts that were in flight are
// recorded as interrupted and retried, so any duplicate they cause is
// reported rather than hidden.
package sender

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/reference/sender/delivery"
	"github.com/hookrig/hookrig/reference/webhook"
)

// Config configures a Sender.
type Config struct {
	DataDir string // where outbox.db lives (created if missing)
	// Store, instead of DataDir, keeps the outbox in PostgreSQL
	// (postgres://user@host:port/db), shared by every instance given
	// the same database (see pgstore.go).
	Store string
	// Instance names this instance in the attempts and leases it
	// records in Store (default: a fresh id).
	Instance string
	// Lease is how long an attempt claimed in Store stays this
	// instance's without renewal (default DefaultLease): past it another
	// instance records the attempt as interrupted and retries it.
	Lease time.Duration
	Clock clock.Clock // nil: the wall clock
	Seed  uint64      // seeds retry jitter
	// Transport sends attempts; nil uses the sender's own HTTP/1.1
	// transport for http:// endpoints (wire.go) and NewTransport(Workers)
	// for https://, both with the dial-time address check of targets.go.
	// A Transport given here dials as it likes: the check at endpoint
	// creation still applies.
	Transport http.RoundTripper
	Logger    *slog.Logger // nil: discard
	// Workers bounds attempts in flight over all endpoints (default 64).
	Workers int
	// MaxBody bounds an API request body (default 4 MiB).
	MaxBody int64
	// DefaultPolicy applies to endpoints created without one; fields a
	// client leaves out of an endpoint's policy come from it. Zero value:
	// DefaultPolicy().
	DefaultPolicy delivery.Policy
	// OnAttempt, if set, hears about every attempt once its outcome is
	// durable, in commit order (a live test harness collects attempts
	// with it). It runs on the outbox writer: it must be quick and must
	// not call the Sender.
	OnAttempt func(AttemptReport)
	// ShutdownGrace is how long Close lets attempts in flight finish
	// before cutting them off (default 5s). Cut-off attempts are
	// reported as interrupted on the next start.
	ShutdownGrace time.Duration
	// APIToken, when set, is the bearer token every API request must
	// carry. A sender whose API listens beyond loopback needs one (the
	// command refuses to start without it).
	APIToken string
	// RefusePrivate refuses endpoints on loopback and private addresses,
	// at creation and at every dial; link-local, metadata and unspecified
	// addresses are refused always (see targets.go). The command sets it
	// when the API listens beyond loopback, unless --allow-private.
	RefusePrivate bool
	// MaxAttemptTimeout bounds an endpoint's attempt_timeout (default
	// DefaultMaxAttemptTimeout).
	MaxAttemptTimeout time.Duration
	// MetricsEndpoints, when > 0, adds attempts by endpoint id to the
	// metrics for the first MetricsEndpoints endpoints attempted; the
	// rest count as endpoint "other". Zero keeps one series per outcome
	// whatever the fleet's size (see metrics.go).
	MetricsEndpoints int
	// Retain, when > 0, is how long a delivered event (with its
	// attempts and id) stays in the bbolt outbox; past it the event is
	// removed, GET /v1/events/{id} answers 404 and the same id may be
	// accepted again. Zero keeps every event forever. Dead letters stay
	// until replayed (retention.go says why). The PostgreSQL outbox
	// (Store) ignores it.
	Retain time.Duration
}

// Defaults.
const (
	DefaultWorkers       = 64
	DefaultMaxBody       = 4 << 20
	DefaultShutdownGrace = 5 * time.Second
	DefaultLease         = 30 * time.Second
	// DefaultRetain is the command's --retain: a day to look a delivered
	// event and its attempts up after an incident, and the usual window
	// in which a client retries an ingest with the same id (Stripe keeps
	// idempotency keys 24h); the outbox then holds about a day of
	// traffic, roughly 1 KB an event. Config's zero value keeps events
	// forever, as a library user would expect of a zero value.
	DefaultRetain = 24 * time.Hour
)

const (
	stateOpen int32 = iota
	stateClosing
	stateCrashed
)

// Sender is a running reference sender.
type Sender struct {
	cfg     Config
	clock   clock.Clock
	logger  *slog.Logger
	store   outboxStore
	ob      *outbox     // bbolt only
	d       *dispatcher // bbolt only
	handler http.Handler
	metrics *senderMetrics

	state     atomic.Int32
	startOnce sync.Once
	stopOnce  sync.Once
	started   bool
	stopLoop  context.CancelFunc
	stopSends context.CancelFunc
	loopDone  chan struct{}
	sweepDone chan struct{} // closed when the retention sweeper stops
	// sweepEvery is sweepEvery; tests that sweep by hand make it long.
	sweepEvery time.Duration
	quit       chan struct{}
	workers    sync.WaitGroup
	closeErr   error
	recovered  Recovery
}

// Recovery says what Open found in the outbox.
type Recovery struct {
	Pending     int // events resumed
	Interrupted int // attempts that were in flight when the sender stopped
	Orphaned    int // pending events whose endpoint was gone, dead-lettered
}

// Open opens (or creates) the outbox in cfg.DataDir and rebuilds the
// delivery schedule from it. Nothing is sent until Start.
func Open(cfg Config) (*Sender, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Retain < 0 {
		return nil, fmt.Errorf("retain %s: must not be negative (0: keep delivered events forever)", cfg.Retain)
	}
	if cfg.MetricsEndpoints < 0 {
		return nil, fmt.Errorf("metrics endpoints %d: must not be negative (0: no per-endpoint series)", cfg.MetricsEndpoints)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = DefaultShutdownGrace
	}
	if cfg.DefaultPolicy.AttemptTimeout == 0 && cfg.DefaultPolicy.Concurrency == 0 {
		cfg.DefaultPolicy = delivery.DefaultPolicy()
	}
	if err := cfg.DefaultPolicy.Validate(); err != nil {
		return nil, fmt.Errorf("default %w", err)
	}
	if cfg.Transport == nil {
		cfg.Transport = newWireTransport(cfg.Workers, targetGuard{refusePrivate: cfg.RefusePrivate})
	}
	if cfg.Store != "" {
		return openPG(cfg)
	}
	ob, err := openOutbox(cfg.DataDir, cfg.Logger)
	if err != nil {
		return nil, err
	}
	s := &Sender{
		cfg: cfg, clock: cfg.Clock, logger: cfg.Logger, ob: ob, sweepEvery: sweepEvery,
		d: newDispatcher(cfg.Clock, delivery.NewJitter(cfg.Seed), cfg.Workers, newClient(cfg.Transport), cfg.Logger, ob),
	}
	s.store = (*boltStore)(s)
	s.d.onAttempt = cfg.OnAttempt
	s.metrics = newMetrics(s)
	s.d.metrics = s.metrics
	ob.mu.Lock()
	ob.metrics = s.metrics
	ob.mu.Unlock()
	if err := s.recover(); err != nil {
		ob.stop(false)
		return nil, fmt.Errorf("recover outbox %s: %w", ob.path, err)
	}
	s.metrics.interrupted(s.recovered.Interrupted)
	s.handler = s.routes()
	return s, nil
}

// Recovered says what Open found.
func (s *Sender) Recovered() Recovery { return s.recovered }

// Start begins delivering; cancelling ctx stops starting new attempts
// (Close finishes the job). Start is a no-op after the first call.
func (s *Sender) Start(ctx context.Context) {
	s.startOnce.Do(func() {
		if s.state.Load() != stateOpen {
			return
		}
		s.store.start(ctx)
	})
}

func (b *boltStore) start(ctx context.Context) {
	s := (*Sender)(b)
	loopCtx, stopLoop := context.WithCancel(ctx)
	sendCtx, stopSends := context.WithCancel(context.Background())
	s.started, s.stopLoop, s.stopSends = true, stopLoop, stopSends
	s.loopDone, s.quit = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.loopDone)
		s.d.loop(loopCtx)
	}()
	for range s.cfg.Workers {
		s.workers.Go(func() { s.d.work(sendCtx, s.quit) })
	}
	s.sweepDone = make(chan struct{})
	go func() {
		defer close(s.sweepDone)
		s.sweepLoop(loopCtx)
	}()
}

// Handler is the HTTP API.
func (s *Sender) Handler() http.Handler { return s.handler }

// Close stops gracefully: no new events or attempts, attempts in flight
// get ShutdownGrace to finish, every outcome is written, the file is
// closed.
func (s *Sender) Close() error {
	s.stop(false)
	return s.closeErr
}

// Crash stops abruptly, as kill -9 would: nothing queued is written,
// attempts in flight are cut off and left claimed, so the next Open
// reports them as interrupted. Only what was already durable survives.
func (s *Sender) Crash() { s.stop(true) }

func (s *Sender) stop(crash bool) {
	s.stopOnce.Do(func() {
		s.startOnce.Do(func() {}) // a later Start does nothing
		if crash {
			s.state.Store(stateCrashed)
		} else {
			s.state.Store(stateClosing)
		}
		s.store.stop(crash)
		if t, ok := s.cfg.Transport.(*wireTransport); ok {
			t.CloseIdleConnections() // its own: nobody else would close them
		}
	})
}

func (b *boltStore) stop(crash bool) {
	s := (*Sender)(b)
	if crash {
		s.ob.stop(true)
	}
	if s.started {
		s.stopLoop()
		<-s.loopDone
		<-s.sweepDone
		if !crash {
			// Nothing starts any more: attempts claimed and not started
			// are handed back, so the next start does not report them.
			s.d.mu.Lock()
			var back []*job
			for _, ep := range s.d.endpoints {
				back = append(back, s.d.takeClaims(ep, false)...)
			}
			if len(back) > 0 {
				s.d.handBack(back)
			}
			s.d.mu.Unlock()
			s.waitGrace()
		}
		s.stopSends()
		s.d.waitIdle(nil)
		close(s.quit)
		s.workers.Wait()
	}
	if !crash {
		s.ob.stop(false)
	}
}

// waitGrace lets the attempts in flight finish within the shutdown grace.
func (s *Sender) waitGrace() {
	t := s.clock.NewTimer(s.cfg.ShutdownGrace)
	if !s.d.waitIdle(t.C()) {
		s.logger.Warn("cutting off attempts still in flight after the shutdown grace", "grace", s.cfg.ShutdownGrace)
	}
	t.Stop()
}

// usable refuses API calls once the sender stops.
func (s *Sender) usable() error {
	switch s.state.Load() {
	case stateClosing:
		return errorf(EUNAVAILABLE, "%v", ErrClosed)
	case stateCrashed:
		return errorf(EUNAVAILABLE, "%v", ErrCrashed)
	}
	return nil
}

// stopped gives the outbox's write errors their domain code (stopped,
// disk full; see ErrorCode) with a message that says what to do.
func (s *Sender) stopped(err error) error { return outboxError(err) }

// newEndpointRT builds the dispatcher's view of an endpoint.
func newEndpointRT(r *Endpoint) (*endpointRT, error) {
	rt := &endpointRT{id: r.ID, url: r.URL, policy: r.Policy, disabled: r.Disabled, reason: r.DisabledReason}
	var err error
	if r.Scheme == "" {
		rt.signer, err = webhook.NewSigner(r.Secret)
	} else {
		rt.scheme, err = webhook.NewScheme(r.Scheme, webhook.Options{Secrets: []string{r.Secret}})
	}
	if err != nil {
		return nil, err
	}
	rt.target = newWireTarget(r.URL)
	return rt, nil
}

// recover rebuilds memory from the outbox: endpoints, then every pending
// event in acceptance order. Attempts left claimed by a crash are recorded
// as interrupted and go through the policy like any other outcome.
func (s *Sender) recover() error {
	type pendingEvent struct {
		seq   uint64
		ev    eventRecord
		st    stateRecord
		claim *claimRecord
	}
	var pending []pendingEvent
	var stale [][]byte // claims of events no longer pending
	err := s.ob.view(func(t *txb) error {
		if err := t.eachEndpoint(func(r *Endpoint) error {
			rt, err := newEndpointRT(r)
			if err != nil {
				return fmt.Errorf("endpoint %s: %w", r.ID, err)
			}
			s.d.endpoints[r.ID] = rt
			return nil
		}); err != nil {
			return err
		}
		cur := t.pending.Cursor()
		for k, _ := cur.First(); k != nil; k, _ = cur.Next() {
			seq := keySeq(k)
			ev, err := decodeEventHead(t.events.Get(k))
			if err != nil {
				return fmt.Errorf("event seq %d: %w", seq, err)
			}
			st, err := t.stateOf(seq)
			if err != nil {
				return err
			}
			p := pendingEvent{seq: seq, ev: ev, st: st}
			if b := t.inflight.Get(k); b != nil {
				cr, err := decodeClaim(b)
				if err != nil {
					return fmt.Errorf("claim seq %d: %w", seq, err)
				}
				p.claim = &cr
			}
			pending = append(pending, p)
		}
		return t.inflight.ForEach(func(k, _ []byte) error {
			if t.pending.Get(k) == nil {
				stale = append(stale, append([]byte(nil), k...))
			}
			return nil
		})
	})
	if err != nil {
		return err
	}

	now := s.clock.Now()
	const interruptedDetail = "in flight when the sender stopped: outcome unknown, the endpoint may have received it"
	var fixes []func(t *txb, c *counters) error
	var reports []AttemptReport
	for i := range pending {
		p := &pending[i]
		var es *delivery.Endpoint
		if ep := s.d.endpoints[p.ev.Endpoint]; ep != nil {
			e := ep.state()
			es = &e
		}
		ds := delivery.DeliveryState{Attempts: int(p.st.Attempts), FirstAt: fromUnixNano(p.st.Since)}
		what, dec, ds := delivery.Recover(es, ds, p.claim != nil, now, s.d.jitter, p.ev.ID)
		switch what {
		case delivery.Orphan:
			s.recovered.Orphaned++
			p.st.Code, p.st.Reason, p.st.FinalAt, p.st.NextAt = codeDeadLettered, dec.Reason, unixNano(now), 0
			seq, st := p.seq, p.st
			fixes = append(fixes, func(t *txb, c *counters) error {
				if err := t.inflight.Delete(seqKey(seq)); err != nil {
					return err
				}
				return t.setState(c, seq, "", codePending, &st)
			})
		case delivery.Interrupted:
			s.recovered.Interrupted++
			p.st.Attempts, p.st.Total = uint32(ds.Attempts), p.claim.N
			if dec.Kind == delivery.RetryAt {
				p.st.NextAt = unixNano(dec.At)
			} else {
				p.st.Code, p.st.Reason, p.st.FinalAt, p.st.NextAt = codeDeadLettered, dec.Reason, unixNano(now), 0
			}
			a := attemptRecord{N: p.claim.N, At: p.claim.At, Err: string(delivery.ErrInterrupted), Detail: interruptedDetail}
			reports = append(reports, newReport(p.ev.ID, p.seq, p.ev.Endpoint, p.ev.Key, &a, dec))
			seq, st, endpoint := p.seq, p.st, p.ev.Endpoint
			fixes = append(fixes, func(t *txb, c *counters) error { return t.record(c, seq, endpoint, &a, codePending, &st) })
		}
	}
	for _, k := range stale {
		fixes = append(fixes, func(t *txb, c *counters) error { return t.inflight.Delete(k) })
	}
	if len(fixes) > 0 {
		err := s.ob.do(func(t *txb, c *counters) error {
			for _, f := range fixes {
				if err := f(t, c); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}

	if s.d.onAttempt != nil {
		for _, r := range reports {
			s.d.onAttempt(r)
		}
	}

	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	for _, p := range pending {
		if p.st.Code != codePending {
			continue
		}
		ep := s.d.endpoints[p.ev.Endpoint]
		it := &item{seq: p.seq, id: p.ev.ID, ep: ep, key: p.ev.Key, total: p.st.Total,
			st: delivery.DeliveryState{Attempts: int(p.st.Attempts), FirstAt: fromUnixNano(p.st.Since)}}
		if p.st.NextAt != 0 {
			it.due = fromUnixNano(p.st.NextAt)
		} else {
			it.due = delivery.FirstDue(ep.policy, it.st.FirstAt, s.d.jitter, it.id)
		}
		s.d.add(it)
		s.recovered.Pending++
	}
	if s.recovered != (Recovery{}) {
		s.logger.Info("outbox recovered", "pending", s.recovered.Pending,
			"interrupted", s.recovered.Interrupted, "orphaned", s.recovered.Orphaned)
	}
	return nil
}

// stats are the bbolt outbox's counts and the dispatcher's state.
func (b *boltStore) stats() Stats {
	s := (*Sender)(b)
	c := s.ob.counters()
	st := Stats{
		Accepted: c.Accepted, Delivered: c.Delivered, DeadLettered: c.DeadLettered,
		Pending:  c.Accepted - c.Delivered - c.DeadLettered,
		Attempts: c.Attempts, Interrupted: c.Interrupted, Replayed: c.Replayed, Commits: c.Commits,
		Removed: c.Removed,
	}
	if c.Commits > 0 {
		st.WritesPerCommit = float64(c.Grouped) / float64(c.Commits)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	st.InFlight = s.d.inflight
	st.Waiting = s.d.lanes.Waiting()
	s.d.countEndpoints(&st, s.clock.Now())
	return st
}

// countEndpoints adds the endpoints' states and flows to the stats.
// Caller holds mu.
func (d *dispatcher) countEndpoints(st *Stats, now time.Time) {
	for _, ep := range d.endpoints {
		countFlow(st, ep, now)
		st.Endpoints++
		if ep.disabled {
			st.DisabledEndpoints++
		}
		if ep.breaker.Phase != delivery.BreakerClosed {
			st.OpenBreakers++
		}
	}
}
