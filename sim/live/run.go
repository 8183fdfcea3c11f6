package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/reference/webhook"
	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim/verdict"
)

// Options adjust a live run. The zero value runs the scenario as written,
// entirely in this process on 127.0.0.1: the reference receiver behind
// the chaos proxy, the reference sender, and the load generator posting
// to the sender's ingest API.
type Options struct {
	// ReceiverURL puts the user's own endpoint behind the chaos proxy
	// instead of the reference receiver (it overrides receiver.url). The
	// receipts are then what the proxy saw the endpoint answer, unless
	// ReceiptsURL says where to read what the endpoint actually stored.
	ReceiverURL string
	// ReceiptsURL, with ReceiverURL, is where the endpoint's own journal
	// of what it received can be read, in the reference receiver's
	// GET /v1/receipts format ({"receipts": [{"id", "at", "status",
	// "verified", "duplicate"}...], "next": N}, paged with ?since=N). An
	// endpoint that answers 200 and then drops the webhook is caught as
	// losing it only this way: the proxy saw a 200.
	ReceiptsURL string
	// Trigger drives the user's own sender instead of the reference one
	// (it overrides sender.trigger): one templated HTTP request per event,
	// which must make their sender emit a webhook whose webhook-id is
	// hookrig's id. Their sender must deliver to the chaos proxy: the
	// template's {{.Endpoint}} is the proxy's URL, or fix the proxy's
	// address with ProxyAddr.
	Trigger *scenarios.Trigger
	// Scheme names the signature scheme the receiver verifies with
	// (webhook.SchemeNames; "" is Standard Webhooks): a trigger's sender
	// that signs as GitHub, Stripe or Convoy do.
	Scheme string
	// IDFrom is where the event id is read from each delivery, by the
	// receiver and the chaos proxy, for a sender that does not send
	// hookrig's id as webhook-id: json:data.hookrig_id for one that
	// carries the payload the trigger gave it but mints its own ids. The
	// zero value is the scheme's own place (webhook-id for standard).
	IDFrom webhook.IDSource
	// Secret is the Standard Webhooks secret ("whsec_...") the sender
	// signs with and the receiver verifies with. Empty: a fresh one per
	// run. Set it when either end is the user's.
	Secret string
	// ProxyAddr is where the chaos proxy listens (default 127.0.0.1:0, a
	// free port).
	ProxyAddr string
	// DataDir holds the sender's outbox and, with Keep, the receiver's
	// journal. Empty: a fresh temporary directory.
	DataDir string
	// Postgres is the PostgreSQL server (postgres://USER@HOST:PORT/DB) a
	// scenario on PostgreSQL (sender.store or receiver.dedupe: postgres)
	// runs on: the run creates a database of its own there, as that
	// user, and drops it at the end unless Keep. Such a scenario without
	// it is refused; other scenarios never use it.
	Postgres string
	// Keep leaves the data directory (outbox.db, receipts.jsonl) in place
	// after the run; otherwise a directory Run created is removed.
	Keep bool
	// IDPrefix starts every event id (the event's number follows).
	// Empty: plan.EventIDPrefix(seed), or a prefix unique to the run when the
	// receiving endpoint is the user's (so its dedupe never sees an id of
	// an earlier run).
	IDPrefix string
	// Logger receives the components' logs. Nil: none.
	Logger *slog.Logger
	// Progress, when set, hears how the run is going every ProgressEvery
	// (default 1s) and once at the end, from one goroutine.
	Progress      func(Progress)
	ProgressEvery time.Duration
	// Clock tells the time and paces everything. Nil: the wall clock.
	Clock clock.Clock
	// Metrics, when set, is handed once the components are up a
	// Prometheus gatherer of the reference sender's, proxy's and
	// receiver's metrics (those the run started), live for the run (the
	// command serves it on --metrics).
	Metrics func(prometheus.Gatherer)
	// InterruptDrain bounds the drain after ctx is cancelled (default
	// 3s, never more than the scenario's drain.timeout). The fault
	// timeline stops at the interrupt, so retries may succeed meanwhile.
	InterruptDrain time.Duration
	// Isolation runs a fleet scenario (endpoints:) a second time with its
	// sick groups (those with faults or a rate limit) healed, the same
	// events sent to the same endpoints (scenarios.Scenario.Healed), and fills
	// the result's isolation figure from it: the healthy groups' p99
	// against their p99 alone. A scenario whose assertions read
	// isolation.* gets it without asking.
	Isolation bool
}

// Progress is a live run's state, for a progress display.
type Progress struct {
	// Stage is "load", "drain" or "done".
	Stage string
	// Phase names the load phase running ("" between phases and after).
	Phase string
	// Elapsed is the time since the run started; LoadEnd when the load
	// is planned to stop; DrainTimeout the most the drain may take (the
	// interrupt's shorter bound once interrupted).
	Elapsed      time.Duration
	LoadEnd      time.Duration
	DrainTimeout time.Duration
	// DrainStart is when the drain began: LoadEnd, or earlier when the
	// load was interrupted. Zero before the drain.
	DrainStart time.Duration
	// Interrupted says ctx was cancelled: the faults are stopped and the
	// run drains for at most DrainTimeout. Progress reports it once, at
	// the moment, and then only the end ("done").
	Interrupted bool
	// Accepted, Delivered and Pending are the sender's counts (for the
	// user's sender: triggers acknowledged, and events received).
	Accepted  int64
	Delivered int64
	Pending   int64
	// Attempts the sender made; FaultsInjected by the chaos proxy.
	Attempts       int64
	FaultsInjected int64
	// LoadSent and LoadRejected are what the load generator saw.
	LoadSent     int64
	LoadRejected int64
	// SenderDown says the reference sender is crashed (sender.crashes).
	SenderDown bool
}

// ErrInterrupted is returned, with the result of what ran, when ctx was
// cancelled before the run finished: the load stopped early, the drain
// was cut short, and the numbers describe an incomplete run.
var ErrInterrupted = errors.New("run interrupted")

// Run executes a scenario live: real sockets on 127.0.0.1, a real outbox
// on disk, the wall clock (or opts.Clock). It wires the load generator,
// the reference sender (or the user's, through a trigger), the chaos
// proxy with the scenario's fault timeline and the reference receiver (or
// the user's endpoint), sends the load, drains and feeds the checker. The
// result is unjudged: sim.Run evaluates the scenario's assertions on it.
//
// The error is for a run that could not be done (bad options, a port in
// use, a component that failed to start). When ctx is cancelled Run
// stops the load and the faults, drains briefly and returns the result
// of what ran with ErrInterrupted.
func Run(ctx context.Context, s *scenarios.Scenario, opts Options) (*verdict.Result, error) {
	if s == nil {
		return nil, errors.New("sim: no scenario")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l, err := newLive(s, opts)
	if err != nil {
		return nil, err
	}
	defer l.cleanup()
	if err := l.setup(ctx); err != nil {
		return nil, err
	}
	res, err := l.run(ctx)
	if err != nil || !(opts.Isolation || s.ReadsIsolation()) {
		return res, err
	}
	l.cleanup() // the baseline starts its own components
	return res, isolate(ctx, res, s, opts)
}

// isolate runs the isolation baseline, s with its sick groups healed,
// and fills res's isolation figure from it.
func isolate(ctx context.Context, res *verdict.Result, s *scenarios.Scenario, opts Options) error {
	base := s.Healed()
	if base == nil {
		res.Notes = append(res.Notes, "no isolation baseline: the fleet needs a sick group (faults or a rate limit) and a healthy one")
		return nil
	}
	opts.Isolation = false
	opts.Progress, opts.Metrics = nil, nil
	if opts.DataDir != "" {
		opts.DataDir = filepath.Join(opts.DataDir, "isolation-baseline")
	}
	bres, err := Run(ctx, base, opts)
	if err != nil {
		if errors.Is(err, ErrInterrupted) {
			res.Notes = append(res.Notes, "the isolation baseline was interrupted: no isolation figure")
			return ErrInterrupted
		}
		return fmt.Errorf("isolation baseline (the scenario without its sick groups): %w", err)
	}
	res.SetIsolationBaseline(bres)
	if iso := res.Isolation; iso != nil {
		res.Notes = append(res.Notes, fmt.Sprintf("isolation baseline: the same events, run live again after this run with the sick groups healed (no faults, no rate limits): the healthy groups' delivery p99 was %.4g ms there, %.4g ms here",
			iso.BaselineP99Ms, iso.P99Ms))
	}
	return nil
}
