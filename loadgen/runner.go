package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/reference/webhook"
)

// Config describes a run.
type Config struct {
	Target Target
	// Payload renders bodies; nil means DefaultPayload(0).
	Payload *Payload
	// Pacer paces an open loop: each request has an intended send time and
	// latency is measured from it. Nil means a closed loop: Concurrency
	// workers each send their next request when the last one is answered,
	// as fast as the target allows.
	Pacer Pacer
	// Duration bounds the run; 0 means until the pacer stops or Requests
	// are sent (one of the three must bound it). Cancelling the context
	// passed to Run ends any run early.
	Duration time.Duration
	// Requests, when above 0, stops the run after that many requests.
	Requests uint64
	// Concurrency is the number of workers of a closed loop (default 64)
	// and the most requests in flight in an open loop (default 512): when
	// they are all waiting on the target, further requests wait for one,
	// and their wait counts in the corrected latency.
	Concurrency int
	// Precision is how finely an open loop times its requests. 0 (the
	// default): each request waits for its own intended time, to the
	// microsecond on Linux, except that the scheduler sleeps at least
	// 200 µs (minNap): requests closer together than that leave together,
	// each at most 200 µs late (at 20,000 req/s four per wake-up; up to
	// 5,000 req/s one). That costs one wake-up of the process per
	// wake-up of the scheduler on Linux (plain TCP; an answer is read at
	// the next wake-up when that is at most max(1ms, P) away, and timed by
	// the kernel's receive stamp: see open_poll_linux.go), two elsewhere
	// and with TLS. P > 0: the scheduler wakes only on a grid of P (from
	// the run's start) and sends every request due by then at once: at R
	// req/s that is one wake-up per max(1, R×P) requests, and each request
	// leaves up to P late plus the time the burst takes to send (the
	// scheduler lag shows it; latency is still measured from each
	// request's intended time).
	Precision time.Duration
	// Timeout bounds each request, connecting included (default 10s).
	// Enforced with socket deadlines, which the kernel measures in real
	// time: so only when RealTime is set.
	Timeout time.Duration
	// Signer, when set, signs every request per Standard Webhooks.
	Signer *webhook.Signer
	// Scheme, when set instead of Signer, signs every request with
	// another scheme (github, stripe, ...; docs/schemes.md). Standard
	// Webhooks is faster through Signer, which signs without allocating.
	// Stripe's id lives in the body: the payload should carry {{.ID}} at
	// "id", as the default template does.
	Scheme webhook.Scheme
	// Duplicates is the share of requests, in [0, 1), that re-send the
	// previous event (same webhook-id and body, new timestamp).
	Duplicates float64
	// Seed seeds every random choice: the poisson pacer is the caller's,
	// but payload fields and which requests are duplicates come from it.
	Seed uint64
	// Shard and Shards split a run across processes: this one sends hits
	// Shard, Shard+Shards, ... of the pacer's schedule (so 1/Shards of the
	// rate) and numbers its events to match. Shards 0 or 1: no sharding.
	Shard, Shards int
	// IDPrefix starts every webhook-id (the event's number follows);
	// make it unique per run so that receivers do not see old ids again.
	// Default "evt_".
	IDPrefix string
	// EventType is the event type (template {{.Type}}; ingest "type").
	// Default "bench.test".
	EventType string
	// Keys is how many ordering keys events cycle through ("key-0",
	// "key-1", ...); 0 sends no key.
	Keys int
	// Clock reads time and paces. Required.
	Clock clock.Clock
	// RealTime says that Clock tells real time: clock.Real, or a clock
	// that wraps it (to offset or record its readings). Two things run on
	// the kernel's clock rather than on Clock and so need it: each
	// request's Timeout (socket deadlines) and pacing to the microsecond
	// (a Linux timerfd). Without it requests have no timeout and the
	// scheduler waits on Clock's timers, as a fake clock in a test needs.
	// New sets it when Clock is clock.Real{}; a wrapper must set it, and
	// New refuses an explicit Timeout without it rather than drop it.
	RealTime bool
	// Start is when the run's schedule begins (its t0): the pacer's due
	// times, Duration and the result's Started count from it, so a
	// scenario runner can put the load on the same t0 as its fault
	// timeline and checker. Zero: the moment Run is called. A Start a
	// little in the past sends what was due by now at once (and its
	// latency counts from when it was due); one in the future waits.
	Start time.Time
	// OnSent, when set, is called after each request with what happened
	// to it, from the worker that sent it (so concurrently).
	OnSent func(Sent)
}

// Sent reports one request to Config.OnSent.
type Sent struct {
	Seq      uint64 // the event's number (unique across shards)
	ID, Key  string
	Intended time.Time     // when it was due (open loop); Started in a closed loop
	Started  time.Time     // when it was sent
	Latency  time.Duration // from Started to the end of the answer (or the error)
	Status   int           // 0: no HTTP answer
	Err      string        // why there was no answer: timeout, refused, reset, eof, protocol, tls, canceled, payload, other
	// Duplicate says the request re-sent an earlier event's id on purpose.
	Duplicate bool
}

// Snapshot is the state of a run in progress.
type Snapshot struct {
	Elapsed   time.Duration
	Total     time.Duration // the run's planned length; 0 if it has none
	Requests  uint64        // of Config.Requests, when set
	Sent      uint64
	Completed uint64
	InFlight  int64
	Errors    uint64 // requests without an HTTP answer
	Non2xx    uint64
	P99       time.Duration // corrected, so far
	AskedRate float64       // what the pacer asks for now; 0 in a closed loop
	Running   bool
}

// Runner runs one load test.
type Runner struct {
	cfg      Config
	clk      clock.Clock
	open     bool
	pacer    Pacer    // sharded if needed
	sched    schedule // of pacer
	target   *wireTarget
	payload  *Payload
	timeout  time.Duration
	realTime bool // Config.RealTime, or the clock is clock.Real
	shard    uint64
	shards   uint64
	dupLimit uint64 // duplicates when hash(seed, n) < dupLimit

	tally    *tally
	started  atomic.Pointer[time.Time]
	done     atomic.Bool
	ran      atomic.Bool
	sent     atomic.Uint64
	inflight atomic.Int64
	stopping atomic.Bool

	connMu   sync.Mutex
	conns    map[*conn]struct{}
	maxConns int
}

// ErrConfig marks configuration errors from New.
var ErrConfig = errors.New("bad load configuration")

// New checks cfg and prepares a run; nothing is sent yet. Every mistake in
// the configuration is reported here.
func New(cfg Config) (*Runner, error) {
	bad := func(format string, a ...any) (*Runner, error) {
		return nil, fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, a...))
	}
	if cfg.Clock == nil {
		return bad("no clock")
	}
	if cfg.Duration < 0 {
		return bad("duration %v is negative", cfg.Duration)
	}
	if cfg.Precision < 0 {
		return bad("precision %v is negative", cfg.Precision)
	}
	if cfg.Concurrency < 0 {
		return bad("concurrency %d is negative", cfg.Concurrency)
	}
	if cfg.Timeout < 0 {
		return bad("timeout %v is negative", cfg.Timeout)
	}
	_, isReal := cfg.Clock.(clock.Real)
	if cfg.Timeout > 0 && !cfg.RealTime && !isReal {
		return bad("a timeout of %v needs RealTime: it is enforced with socket deadlines, in real time, and %T is not clock.Real (set RealTime if it wraps the real clock; leave Timeout 0 with a fake clock)", cfg.Timeout, cfg.Clock)
	}
	if cfg.Duplicates < 0 || cfg.Duplicates >= 1 || math.IsNaN(cfg.Duplicates) {
		return bad("duplicates %v: want a share in [0, 1), e.g. 0.05", cfg.Duplicates)
	}
	if cfg.Keys < 0 {
		return bad("keys %d is negative", cfg.Keys)
	}
	if cfg.Shards > 1 && (cfg.Shard < 0 || cfg.Shard >= cfg.Shards) || cfg.Shards < 0 {
		return bad("shard %d/%d: want 0 <= shard < shards", cfg.Shard, cfg.Shards)
	}
	r := &Runner{cfg: cfg, clk: cfg.Clock, open: cfg.Pacer != nil, payload: cfg.Payload,
		timeout: cfg.Timeout, shard: uint64(cfg.Shard), shards: 1, tally: newTally(), conns: map[*conn]struct{}{}}
	if cfg.Shards > 1 {
		r.shards = uint64(cfg.Shards)
	}
	if r.timeout == 0 {
		r.timeout = 10 * time.Second
	}
	if r.cfg.Concurrency == 0 {
		r.cfg.Concurrency = 64
		if r.open {
			r.cfg.Concurrency = 512
		}
	}
	if r.cfg.IDPrefix == "" {
		r.cfg.IDPrefix = "evt_"
	}
	if r.cfg.EventType == "" {
		r.cfg.EventType = "bench.test"
	}
	if r.payload == nil {
		r.payload = DefaultPayload(0)
	}
	r.realTime = cfg.RealTime || isReal
	r.dupLimit = uint64(cfg.Duplicates * (1 << 63) * 2)
	if r.open {
		r.pacer = cfg.Pacer
		if r.shards > 1 {
			r.pacer = Shard(cfg.Pacer, cfg.Shard, cfg.Shards)
		}
		r.sched = asSchedule(r.pacer)
		if _, ends := Length(r.pacer); !ends && cfg.Duration == 0 && cfg.Requests == 0 {
			return bad("the run has no end: give a duration or a number of requests")
		}
	} else if cfg.Duration == 0 && cfg.Requests == 0 {
		return bad("a closed loop needs a duration or a number of requests")
	}
	if cfg.Signer != nil && cfg.Scheme != nil {
		return bad("give a Signer (Standard Webhooks) or a Scheme, not both")
	}
	t, err := cfg.Target.prepare(cfg.Signer, cfg.Scheme, r.timeout)
	if err != nil {
		return bad("%v", err)
	}
	if cfg.Target.Ingest != "" {
		t.setIngest(cfg.Target, r.cfg.EventType)
		// The sender stores the payload as JSON: check it is.
		b, err := r.payload.Sample(0, cfg.Seed)
		if err != nil {
			return bad("%v", err)
		}
		if !jsonValid(b) {
			return bad("ingest mode posts the body as the event's JSON payload, and it is not JSON: %.80q", b)
		}
	}
	r.target = t
	return r, nil
}

// isDup decides, from the seed and the hit number alone, whether hit n
// re-sends an earlier event.
func (r *Runner) isDup(n uint64) bool {
	if r.dupLimit == 0 {
		return false
	}
	// splitmix64 of (seed, n): a fixed, well-mixed draw per hit.
	z := r.cfg.Seed ^ (n+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return z < r.dupLimit
}

// Snapshot reports the run's progress; safe to call at any time.
func (r *Runner) Snapshot() Snapshot {
	s := Snapshot{Total: r.cfg.Duration, Requests: r.cfg.Requests, Running: !r.done.Load()}
	if s.Total == 0 && r.open {
		s.Total, _ = Length(r.pacer)
	}
	if st := r.started.Load(); st != nil {
		s.Elapsed = max(0, r.clk.Now().Sub(*st)) // 0 until a future Start
		if r.open && s.Running {
			s.AskedRate = r.pacer.Rate(s.Elapsed)
		}
	}
	l := r.tally.live()
	s.Sent, s.InFlight = r.sent.Load(), r.inflight.Load()
	s.Completed, s.Errors, s.Non2xx, s.P99 = l.completed, l.errors, l.non2xx, l.p99
	return s
}

// Run sends the load and returns what it measured. Cancelling ctx stops
// the run at once (requests in flight are abandoned and counted as
// canceled) and Run still returns the result of what ran, marked
// Interrupted. The error is for a runner used twice.
func (r *Runner) Run(ctx context.Context) (*Result, error) {
	if r.ran.Swap(true) {
		return nil, errors.New("loadgen: a Runner runs once")
	}
	stopAbort := context.AfterFunc(ctx, r.abort)
	defer stopAbort()
	start := r.cfg.Start
	if start.IsZero() {
		start = r.clk.Now()
	}
	r.started.Store(&start)
	var out outcome
	if r.open {
		out = r.runOpen(ctx, start)
	} else {
		out = r.runClosed(ctx, start)
	}
	end := r.clk.Now()
	r.done.Store(true)
	r.closeConns()
	return r.result(start, end, out, ctx.Err() != nil), nil
}

// abort stops a run at once: no new requests, and every request in flight
// fails now (its socket deadline moves to the past).
func (r *Runner) abort() {
	r.stopping.Store(true)
	r.connMu.Lock()
	defer r.connMu.Unlock()
	for c := range r.conns {
		c.abort()
	}
}

// dial opens a connection and registers it (so that abort reaches it),
// unless the run is stopping.
func (r *Runner) dial(ctx context.Context) (*conn, error) {
	c, err := r.target.dial.dial(ctx)
	if err != nil {
		return nil, err
	}
	if !r.addConn(c) {
		c.close()
		return nil, context.Canceled
	}
	return c, nil
}

func (r *Runner) addConn(c *conn) bool {
	r.connMu.Lock()
	defer r.connMu.Unlock()
	if r.stopping.Load() {
		return false
	}
	r.conns[c] = struct{}{}
	r.maxConns = max(r.maxConns, len(r.conns))
	return true
}

func (r *Runner) dropConn(c *conn) {
	r.connMu.Lock()
	delete(r.conns, c)
	r.connMu.Unlock()
	c.close()
}

func (r *Runner) closeConns() {
	r.connMu.Lock()
	defer r.connMu.Unlock()
	for c := range r.conns {
		c.close()
		delete(r.conns, c)
	}
}

func (r *Runner) result(start, end time.Time, out outcome, interrupted bool) *Result {
	t := r.tally
	t.mu.Lock()
	defer t.mu.Unlock()
	res := &Result{
		Mode: "closed", Target: r.cfg.Target.URL, Shard: r.cfg.Shard, Shards: int(r.shards),
		Started: start, Duration: out.window, Elapsed: end.Sub(start),
		Requests: r.sent.Load(), NeverSent: out.neverSent,
		RateRequested: out.asked, Connections: r.maxConns,
		Interrupted: interrupted,
	}
	t.fill(res)
	if r.open {
		res.Mode = "open"
		res.Pacer = fmt.Sprint(r.cfg.Pacer)
	}
	if res.Shards <= 1 {
		res.Shard = 0
	}
	if out.window > 0 {
		res.RateAchieved = float64(res.Requests) / out.window.Seconds()
	}
	return res
}
