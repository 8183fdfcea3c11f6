package chaos

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookrig/hookrig/chaos/fault"
	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/internal/httpapi"
	"github.com/hookrig/hookrig/reference/webhook"
)

// Config configures a Proxy.
type Config struct {
	// Upstream is where requests go: http[s]://host[:port][/path prefix].
	Upstream string
	// StripFleetPrefix forwards a fleet endpoint's request (its path
	// under /fleet/GROUP/N/, fault.FleetPath) without that prefix: the
	// user's endpoints behind a fleet see their own paths, while rules
	// still match endpoint.name and endpoint.group. Off, the path goes
	// as it came (the reference receiver serves every endpoint by it).
	StripFleetPrefix bool
	// Rules to start with; nil for none.
	Rules *fault.Rules
	// Seed for every fault draw (see RequestRand).
	Seed uint64
	// Clock times holds, delays, pacing and rule windows; nil means the
	// wall clock.
	Clock clock.Clock
	// Start is the run's t0 on Clock: rule windows (after, for) and a
	// match's elapsed count from it. Zero means when New is called. A
	// scenario runner that knows its t0 only later uses SetStart.
	Start  time.Time
	Logger *slog.Logger
	// AttemptLog is how many AttemptRecords the proxy keeps for
	// Attempts and GET /v1/attempts (default 10000).
	AttemptLog int
	// OnAttempt, when set, receives every AttemptRecord as its request
	// finishes, from the request's goroutine (so possibly concurrently;
	// Seq orders them). It must not block.
	OnAttempt func(AttemptRecord)
	// IDFrom, when set, is where each request's event id is read (a
	// header, or a path in the JSON body) instead of webhook-id: for a
	// sender that signs another scheme or mints its own ids. Rules see it
	// as event_id, and AttemptRecord.EventID carries it. Such senders
	// rarely number their attempts: a request without webhook-attempt is
	// then numbered by the proxy, the nth seen with an id being attempt n.
	IDFrom webhook.IDSource
	// ControlToken, when set, is the bearer token the control API
	// requires.
	ControlToken string
	// MaxBody is the largest request body accepted (default 4 MiB);
	// larger requests get 413 from the proxy (and a record, unforwarded).
	MaxBody int
	// UpstreamTimeout bounds each upstream round trip (default 60s).
	UpstreamTimeout time.Duration
	// NetClock times the connections' timeouts: UpstreamTimeout, a minute
	// to send a request, two minutes idle between requests. nil means the
	// wall clock. It is not Clock so that a test driving faults with a
	// fake Clock still has sockets that time out in real time.
	NetClock clock.Clock
	// MaxConns caps the client connections open at once (default
	// DefaultMaxConns). At the cap, a new connection closes the client
	// connection idle the longest; with none idle it is answered 503 and
	// closed. Below the process's descriptor limit, it keeps the proxy
	// able to accept, dial its upstream and answer probes whatever
	// clients hold open.
	MaxConns int

	// onGate, for tests, hears the listener go down (true) and up.
	onGate func(down bool)
}

// Proxy is the chaos proxy: a reverse proxy to one upstream that faults
// requests by rule. Create it with New, start it with Start, steer it with
// SetRules/ReplaceRules/AddRule/DeleteRule or the ControlHandler, and stop
// it with Close.
type Proxy struct {
	cfg      Config
	clock    clock.Clock
	log      *slog.Logger
	up       *upstream
	attempts *attemptLog
	tries    *triesByID // numbers unnumbered attempts; nil without IDFrom

	start    atomic.Pointer[time.Time]
	arrivals atomic.Uint64
	totals   atomic.Pointer[totals]
	rules    atomic.Pointer[ruleSet]
	rulesMu  sync.Mutex // serialises rule changes (the data path never takes it)
	changed  chan struct{}
	gate     *gate
	closing  chan struct{}
	closed   sync.Once
	bg       sync.WaitGroup
	scratch  sync.Pool // *exchange
	metrics  *proxyMetrics

	// the data path's server (server.go)
	conns    connSet // client and upstream connections
	dog      *watchdog
	accepted chan struct{}  // closed when accept returns
	serving  sync.WaitGroup // a goroutine per client connection
	stopping atomic.Bool
	inbounds sync.Pool // *inbound
	clients  connSet   // client connections only, for the cap
}

// DefaultMaxConns is the client connection cap when Config.MaxConns is 0:
// half of a common 1024-descriptor limit, leaving the rest for upstream
// connections, the control API and the process.
const DefaultMaxConns = 448

// ruleSet is the rules in force with their counters, swapped as one.
type ruleSet struct {
	rules    *fault.Rules
	counters []*ruleCounters // by rule index
}

// ErrRuleExists and ErrNoSuchRule are returned by AddRule and DeleteRule.
var (
	ErrRuleExists = errors.New("a rule with that name exists")
	ErrNoSuchRule = errors.New("no such rule")
)

// New checks cfg and builds a proxy; it does not listen yet.
func New(cfg Config) (*Proxy, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.AttemptLog == 0 {
		cfg.AttemptLog = 10000
	}
	if cfg.AttemptLog < 0 {
		return nil, fmt.Errorf("attempt log size %d: must not be negative", cfg.AttemptLog)
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = 4 << 20
	}
	if cfg.UpstreamTimeout == 0 {
		cfg.UpstreamTimeout = 60 * time.Second
	}
	if cfg.UpstreamTimeout < 0 {
		return nil, fmt.Errorf("upstream timeout %s: must not be negative", cfg.UpstreamTimeout)
	}
	if cfg.NetClock == nil {
		cfg.NetClock = clock.Real{}
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.MaxConns < 0 {
		return nil, fmt.Errorf("max conns %d: must not be negative", cfg.MaxConns)
	}
	up, err := newUpstream(cfg.Upstream, cfg.UpstreamTimeout)
	if err != nil {
		return nil, err
	}
	up.stripFleet = cfg.StripFleetPrefix
	p := &Proxy{
		cfg: cfg, clock: cfg.Clock, log: cfg.Logger, up: up,
		attempts: newAttemptLog(cfg.AttemptLog, cfg.OnAttempt),
		changed:  make(chan struct{}, 1),
		closing:  make(chan struct{}),
	}
	if !cfg.IDFrom.IsNone() {
		p.tries = &triesByID{n: map[string]int{}}
	}
	start := cfg.Start
	if start.IsZero() {
		start = p.clock.Now()
	}
	p.metrics = newMetrics(p)
	p.attempts.metrics = p.metrics
	p.start.Store(&start)
	p.totals.Store(new(totals))
	p.rules.Store(&ruleSet{rules: &fault.Rules{}})
	p.SetRules(cfg.Rules)
	p.scratch.New = func() any { return p.newExchange() }
	p.inbounds.New = newInbound
	p.dog = newWatchdog(cfg.NetClock, cfg.UpstreamTimeout)
	up.conns, up.dog = &p.conns, p.dog
	return p, nil
}

// Start listens on addr (loopback when it names no host, see
// httpapi.Listen) and serves in the background.
func (p *Proxy) Start(addr string) error {
	if p.gate != nil {
		return errors.New("chaos proxy already started")
	}
	ln, err := httpapi.Listen(addr)
	if err != nil {
		return err
	}
	p.gate = newGate(ln)
	p.accepted = make(chan struct{})
	p.bg.Add(3)
	go func() {
		defer p.bg.Done()
		p.accept()
	}()
	go func() {
		defer p.bg.Done()
		p.runGate()
	}()
	go func() {
		defer p.bg.Done()
		p.dog.run(&p.conns, p.up, p.closing)
	}()
	return nil
}

// Addr is the address the proxy listens on ("" before Start).
func (p *Proxy) Addr() string {
	if p.gate == nil {
		return ""
	}
	return p.gate.Addr().String()
}

// URL is http://Addr.
func (p *Proxy) URL() string { return "http://" + p.Addr() }

// Close stops accepting, ends holds and silences, waits for in-flight
// requests (up to 5s) and background copies, and closes the upstream
// connections.
func (p *Proxy) Close() error {
	var err error
	p.closed.Do(func() {
		close(p.closing)
		if p.gate != nil {
			err = p.shutdown(5 * time.Second)
		}
		p.bg.Wait()
		p.up.closeIdle()
	})
	return err
}

// runGate opens and closes the listener at the down windows' edges.
func (p *Proxy) runGate() {
	for {
		rs := p.rules.Load().rules
		el := p.elapsed(p.clock.Now())
		down := rs.DownAt(el)
		retry := false
		if down != p.gate.isDown() {
			if err := p.gate.setDown(down); err != nil {
				p.log.Warn("chaos: cannot reopen the listener after a down window; retrying", "addr", p.Addr(), "err", err)
				retry = true
			} else if p.cfg.onGate != nil {
				p.cfg.onGate(down)
			}
		}
		var wake <-chan time.Time
		var t clock.Timer
		if next, ok := rs.NextDownChange(el); ok || retry {
			d := next - el
			if retry {
				d = 100 * time.Millisecond
			}
			t = p.clock.NewTimer(d)
			wake = t.C()
		}
		select {
		case <-wake:
		case <-p.changed:
		case <-p.closing:
		}
		if t != nil {
			t.Stop()
		}
		select {
		case <-p.closing:
			return
		default:
		}
	}
}

func (p *Proxy) elapsed(now time.Time) time.Duration { return now.Sub(*p.start.Load()) }

// wait sleeps d on the proxy's clock; false if the proxy closed first.
func (p *Proxy) wait(d time.Duration) bool { return clock.Sleep(p.clock, d, p.closing) }

// SetRules puts compiled rules in force at once (nil: none). Requests in
// flight finish under the rules they started with; counters carry over
// for rules that keep their name.
func (p *Proxy) SetRules(rs *fault.Rules) {
	if rs == nil {
		rs = &fault.Rules{}
	}
	p.rulesMu.Lock()
	defer p.rulesMu.Unlock()
	p.storeRules(rs)
}

// storeRules swaps rs in; the caller holds rulesMu.
func (p *Proxy) storeRules(rs *fault.Rules) {
	old := p.rules.Load()
	byName := make(map[string]*ruleCounters, old.rules.Len())
	for i, r := range old.rules.List() {
		byName[r.Name()] = old.counters[i]
	}
	set := &ruleSet{rules: rs, counters: make([]*ruleCounters, rs.Len())}
	for i, r := range rs.List() {
		if c, ok := byName[r.Name()]; ok {
			set.counters[i] = c
		} else {
			set.counters[i] = new(ruleCounters)
		}
	}
	p.rules.Store(set)
	select { // wake the gate: down windows may have changed
	case p.changed <- struct{}{}:
	default:
	}
}

// Rules returns the rules in force, as written.
func (p *Proxy) Rules() []fault.RuleSpec { return p.rules.Load().rules.Specs() }

// ReplaceRules compiles specs and puts them in force; on any error the
// rules in force stay as they were.
func (p *Proxy) ReplaceRules(specs []fault.RuleSpec) error {
	rs, err := fault.Compile(specs)
	p.metrics.ruleChange(err)
	if err != nil {
		return err
	}
	p.SetRules(rs)
	return nil
}

// AddRule appends one rule (its name must be new).
func (p *Proxy) AddRule(spec fault.RuleSpec) error {
	return p.editRules(func(specs []fault.RuleSpec) ([]fault.RuleSpec, error) {
		for _, s := range specs {
			if s.Name == spec.Name {
				return nil, fmt.Errorf("rule %q: %w", spec.Name, ErrRuleExists)
			}
		}
		return append(specs, spec), nil
	})
}

// DeleteRule removes the named rule.
func (p *Proxy) DeleteRule(name string) error {
	return p.editRules(func(specs []fault.RuleSpec) ([]fault.RuleSpec, error) {
		for i, s := range specs {
			if s.Name == name {
				return append(specs[:i], specs[i+1:]...), nil
			}
		}
		return nil, fmt.Errorf("rule %q: %w", name, ErrNoSuchRule)
	})
}

func (p *Proxy) editRules(edit func([]fault.RuleSpec) ([]fault.RuleSpec, error)) (err error) {
	defer func() { p.metrics.ruleChange(err) }()
	p.rulesMu.Lock()
	defer p.rulesMu.Unlock()
	specs, err := edit(p.rules.Load().rules.Specs())
	if err != nil {
		return err
	}
	rs, err := fault.Compile(specs)
	if err != nil {
		return err
	}
	p.storeRules(rs)
	return nil
}

// SetStart moves the run's t0 (see Config.Start): from now on, rule
// windows and elapsed count from start. Requests already being decided
// keep the t0 they read; down windows are recomputed at once.
func (p *Proxy) SetStart(start time.Time) {
	p.rulesMu.Lock()
	defer p.rulesMu.Unlock()
	p.start.Store(&start)
	p.storeRules(p.rules.Load().rules) // wakes the gate
}

// Reset removes every rule, zeroes the stats, empties the attempt log and
// restarts the timeline: elapsed and arrival numbers start again from 0,
// so the same seed and requests fault the same way again.
func (p *Proxy) Reset() {
	p.rulesMu.Lock()
	defer p.rulesMu.Unlock()
	now := p.clock.Now()
	p.start.Store(&now)
	p.arrivals.Store(0)
	p.totals.Store(new(totals))
	p.attempts.reset()
	p.rules.Store(&ruleSet{rules: &fault.Rules{}})
	p.storeRules(&fault.Rules{})
}

// Stats returns the counters so far.
func (p *Proxy) Stats() Stats {
	t := p.totals.Load()
	set := p.rules.Load()
	s := Stats{
		Requests:       t.requests.Load(),
		Forwarded:      t.forwarded.Load(),
		UpstreamErrors: t.upstreamErrors.Load(),
		Injected:       t.injected.Load(),
		Outcomes:       t.outcomes.snapshot(),
		Rules:          make([]RuleStats, 0, set.rules.Len()),
		Elapsed:        fault.Duration(p.elapsed(p.clock.Now())),
	}
	if p.gate != nil {
		s.Down = p.gate.isDown()
	}
	for i, r := range set.rules.List() {
		c := set.counters[i]
		s.Rules = append(s.Rules, RuleStats{
			Name: r.Name(), Fault: r.Fault().Type(),
			Matched: c.matched.Load(), Injected: c.injected.Load(), MatchErrors: c.matchErrors.Load(),
			Outcomes: c.outcomes.snapshot(),
		})
	}
	return s
}

// Attempts returns the kept records with Seq > since, oldest first.
func (p *Proxy) Attempts(since uint64) []AttemptRecord {
	recs, _ := p.attempts.since(since, 0)
	return recs
}

// AttemptsPage returns up to limit (0: all kept) records with Seq > since,
// oldest first, and how many such records the ring had already dropped.
func (p *Proxy) AttemptsPage(since uint64, limit int) ([]AttemptRecord, uint64) {
	return p.attempts.since(since, limit)
}

var _ net.Listener = (*gate)(nil)
