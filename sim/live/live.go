package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookrig/hookrig/chaos"
	"github.com/hookrig/hookrig/chaos/fault"
	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/internal/httpapi"
	"github.com/hookrig/hookrig/loadgen"
	"github.com/hookrig/hookrig/reference/receiver"
	"github.com/hookrig/hookrig/reference/sender"
	"github.com/hookrig/hookrig/reference/webhook"
	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim/plan"
	"github.com/hookrig/hookrig/sim/verdict"
)

// This file holds the live executor: it sets up the topology of a run on
// loopback, runs the load and the fault timeline from one start (t0),
// drains, and hands what every component recorded to the checker. The
// data flow is ARCHITECTURE.md's:
//
//	loadgen ──▶ sender ──▶ chaos proxy ──▶ receiver
//
// with either end replaceable by the user's own.

// live is one live run.
type live struct {
	s    *scenarios.Scenario
	opts Options
	clk  clock.Clock
	log  *slog.Logger

	trigger     *scenarios.Trigger // the user's sender, or nil for ours
	endpointURL string             // the user's endpoint, or "" for ours
	dir         string
	ownDir      bool
	secret      string
	idPrefix    string

	rcv *receiver.Receiver
	db  *runDatabase // the run's database on PostgreSQL (instances.go), or nil
	// rcvs are the receiver's instances (receiver.instances, or dedupe
	// in PostgreSQL), each on its own server, behind rcvBalancer when
	// there are several.
	rcvs         []*receiver.Receiver
	rcvInstances []*loopServer
	rcvBalancer  *balancer
	fleet        *fleetLive // the scenario's endpoints: (fleet.go), nil for one endpoint
	rcvSrv       *loopServer
	proxy        *chaos.Proxy
	rules        []fault.RuleSpec      // Rules(s): windows relative to t0
	downs        []verdict.FaultWindow // the timeline's down windows, for refused attempts
	host         *senderHost           // the sender, or its first instance
	hosts        []*senderHost         // every instance of the sender (host first)
	ingest       *balancer             // in front of several sender instances, or nil
	deliverTo    string                // the URL the sender delivers to (on the proxy)
	loadCfg      loadgen.Config        // checked in setup, run from t0
	pacer        *loadgen.SequencePacer
	journal      *journalReader // the user's endpoint's receipts, if given

	t0      time.Time
	checker atomic.Pointer[verdict.Checker]
	wake    chan struct{}

	faultMu sync.Mutex
	faultOf map[attemptKey]string // faults the proxy injected, by (event, attempt)
	tries   map[string]int        // attempts per id seen by the proxy (the user's sender)

	proxyRecords atomic.Int64
	sent         atomic.Int64
	rejected     atomic.Int64
	accepted     atomic.Int64 // the user's sender: triggers acknowledged
	sendersDown  atomic.Int32 // sender instances crashed
	loadDone     atomic.Bool  // the load has stopped (maybe early)
	refusedDown  atomic.Int64 // attempts refused in a down window

	// The drain and the interrupt (interrupt.go): when the drain began
	// and its bound (for the progress display), and whether ctx was
	// cancelled, told once to the progress goroutine through interruptCh.
	drainStart    atomic.Int64 // time.Duration since t0
	drainBound    atomic.Int64 // time.Duration; 0 before the drain
	interrupted   atomic.Bool
	interruptOnce sync.Once
	interruptCh   chan struct{}

	// onPostgres says the run keeps the sender's outbox or the
	// receivers' dedupe in PostgreSQL (scenarios.NeedsPostgres).
	onPostgres bool
	notes      []string
	inst       *verdict.Instances // what each instance did (instances.go)
}

// padVar finds the load generator's {{pad}} in a template.
var padVar = regexp.MustCompile(`\{\{-?\s*pad\s*-?\}\}`)

type attemptKey struct {
	id string
	n  int
}

func newLive(s *scenarios.Scenario, opts Options) (*live, error) {
	l := &live{
		s: s, opts: opts, clk: opts.Clock, log: opts.Logger,
		trigger:     s.Sender.Trigger,
		endpointURL: s.Receiver.URL,
		wake:        make(chan struct{}, 1),
		interruptCh: make(chan struct{}, 1),
		faultOf:     map[attemptKey]string{},
		tries:       map[string]int{},
	}
	if l.clk == nil {
		l.clk = clock.Real{}
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if opts.Trigger != nil {
		l.trigger = opts.Trigger
	}
	fleet, err := newFleet(s, opts)
	if err != nil {
		return nil, err
	}
	l.fleet = fleet
	// The scenario's scheme and id_from apply unless Options name their
	// own, as the --scheme and --id-from flags override the file.
	if l.opts.Scheme == "" {
		l.opts.Scheme = s.Scheme
	}
	if l.opts.IDFrom.IsNone() {
		l.opts.IDFrom = s.IDFrom
	}
	if opts.ReceiverURL != "" {
		l.endpointURL = opts.ReceiverURL
	}
	if l.trigger != nil {
		if err := l.trigger.Check(); err != nil {
			return nil, fmt.Errorf("trigger: %w", err)
		}
		if len(s.Sender.Crashes) > 0 {
			return nil, errors.New("the scenario crashes hookrig's reference sender (sender.crashes), but a trigger drives your own sender: drop one of them")
		}
	}
	l.onPostgres = s.NeedsPostgres(opts.Trigger != nil, opts.ReceiverURL != "")
	if l.onPostgres && opts.Postgres == "" {
		return nil, NoPostgresError(s)
	}
	if l.endpointURL != "" {
		u, err := url.Parse(l.endpointURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("receiver URL %q: expected an http:// or https:// URL", l.endpointURL)
		}
		if p := s.Receiver.Processing; p != (scenarios.Processing{}) || s.Receiver.DedupeTTL != 0 {
			l.log.Warn("the scenario configures hookrig's reference receiver (receiver.processing, dedupe_ttl); your endpoint is used instead and they do not apply")
		}
	} else if opts.ReceiptsURL != "" {
		return nil, errors.New("a receipts URL reads your own endpoint's journal: give the endpoint's URL too")
	}
	if l.fleet != nil && l.fleet.user {
		// The user's endpoints: their receipts are what the proxy saw
		// them answer, and ids are unique to the run, as for one.
		if l.endpointURL, err = l.fleet.userOrigin(s); err != nil {
			return nil, fmt.Errorf("endpoints: %w", err)
		}
	}
	if s.Load.PayloadBytes < 0 {
		return nil, fmt.Errorf("load.payload_bytes %d is negative", s.Load.PayloadBytes)
	}
	l.rules = plan.Rules(s)
	_, faults := plan.Windows(s)
	for _, w := range faults {
		if w.Fault == "down" {
			l.downs = append(l.downs, w)
		}
	}
	return l, nil
}

// setup starts every component and prepares the load; nothing is sent
// until run.
func (l *live) setup(ctx context.Context) error {
	if err := l.dataDir(); err != nil {
		return err
	}
	l.secret = l.opts.Secret
	if l.secret == "" {
		l.secret = sender.NewSecret()
	}
	if l.onPostgres {
		db, err := createRunDatabase(ctx, l.opts.Postgres)
		if err != nil {
			return err
		}
		l.db = db
	}
	upstream, path, err := l.startReceiver()
	if err != nil {
		return err
	}
	if err := l.startProxy(upstream); err != nil {
		return err
	}
	l.deliverTo = l.proxy.URL() + path
	if l.trigger == nil {
		if err := l.startSenders(); err != nil {
			return err
		}
	}
	if l.opts.ReceiptsURL != "" {
		l.journal = newJournalReader(l.opts.ReceiptsURL, l.idPrefix)
		if err := l.journal.skipToEnd(ctx); err != nil {
			return err
		}
	}
	if l.opts.Metrics != nil {
		l.opts.Metrics(prometheus.GathererFunc(l.gather))
	}
	return l.prepareLoad()
}

func (l *live) dataDir() error {
	l.dir = l.opts.DataDir
	if l.dir == "" {
		d, err := os.MkdirTemp("", "hookrig-run-")
		if err != nil {
			return err
		}
		l.dir, l.ownDir = d, true
	} else {
		if err := os.MkdirAll(l.dir, 0o755); err != nil {
			return err
		}
		// An outbox left by an earlier run would be resumed: its events
		// would be delivered again and counted in this run.
		if _, err := os.Stat(filepath.Join(l.dir, sender.OutboxFile)); err == nil && l.trigger == nil && l.s.Sender.Store != scenarios.StorePostgres {
			return fmt.Errorf("data directory %s already holds an outbox (%s) from an earlier run; give an empty directory", l.dir, sender.OutboxFile)
		}
	}
	// Ids: the seed's own when our receiver is fresh each run (so the
	// same seed faults the same events); unique to the run when the
	// user's endpoint might remember ids from an earlier one.
	l.idPrefix = l.opts.IDPrefix
	if l.idPrefix == "" {
		l.idPrefix = plan.EventIDPrefix(l.s.Seed)
		if l.endpointURL != "" || l.trigger != nil {
			l.idPrefix += strconv.FormatInt(l.clk.Now().UnixMilli(), 36) + "_"
		}
	}
	return nil
}

// startReceiver starts the reference receiver, or points at the user's
// endpoint. It returns the proxy's upstream and the path the sender must
// post to on the proxy (the user's endpoint's path, so the proxy forwards
// it unchanged).
func (l *live) startReceiver() (upstream, path string, err error) {
	if l.fleet != nil {
		upstream, err = l.startFleetReceiver()
		return upstream, "", err
	}
	if l.endpointURL != "" {
		u, _ := url.Parse(l.endpointURL)
		path = u.EscapedPath()
		if path == "" {
			path = "/"
		}
		if u.RawQuery != "" {
			path += "?" + u.RawQuery
		}
		return u.Scheme + "://" + u.Host, path, nil
	}
	if l.multiReceiver() {
		upstream, err = l.startReceivers()
		return upstream, "/webhooks", err
	}
	cfg := l.receiverConfig(l.s.Receiver)
	if l.opts.Keep {
		cfg.JournalPath = filepath.Join(l.dir, "receipts.jsonl")
	}
	rcv, err := receiver.New(cfg)
	if err != nil {
		return "", "", fmt.Errorf("receiver: %w", err)
	}
	l.rcv = rcv
	ln, err := httpapi.Listen("127.0.0.1:0")
	if err != nil {
		return "", "", fmt.Errorf("receiver: %w", err)
	}
	l.rcvSrv = serveOn(ln, rcv.Handler())
	return l.rcvSrv.URL(), "/webhooks", nil
}

// receiverConfig configures a reference receiver as r says.
func (l *live) receiverConfig(r scenarios.Receiver) receiver.Config {
	return receiver.Config{
		Secrets: []string{l.secret},
		Scheme:  l.opts.Scheme,
		IDFrom:  l.opts.IDFrom,
		Dedupe:  receiver.DedupeConfig{TTL: r.DedupeTTL},
		Processing: receiver.ProcessingConfig{
			Duration:     r.Processing.Duration,
			FailureRatio: r.Processing.FailureRatio,
			BeforeAck:    r.Processing.BeforeAck,
		},
		Clock:     l.clk,
		Seed:      l.s.Seed,
		Logger:    l.log.With("component", "receiver"),
		OnReceipt: l.onReceipt,
	}
}

func (l *live) startProxy(upstream string) error {
	// The rules are checked now, so a bad one fails the run before
	// anything is sent; they are put in force at t0.
	if _, err := fault.Compile(l.rules); err != nil {
		return fmt.Errorf("fault rules: %w", err)
	}
	p, err := chaos.New(chaos.Config{
		Upstream:  upstream,
		Seed:      l.s.Seed,
		Clock:     l.clk,
		Logger:    l.log.With("component", "chaos"),
		OnAttempt: l.onProxyAttempt,
		IDFrom:    l.proxyIDFrom(),
		// The user's endpoints in a fleet see their own paths.
		StripFleetPrefix: l.fleet != nil && l.fleet.user,
	})
	if err != nil {
		return fmt.Errorf("chaos proxy: %w", err)
	}
	addr := l.opts.ProxyAddr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if err := p.Start(addr); err != nil {
		return fmt.Errorf("chaos proxy: %w", err)
	}
	l.proxy = p
	return nil
}

// proxyIDFrom is where the chaos proxy reads each attempt's event id:
// IDFrom, else the scheme's own place; none (the proxy's webhook-id) for
// Standard Webhooks.
func (l *live) proxyIDFrom() webhook.IDSource {
	if !l.opts.IDFrom.IsNone() {
		return l.opts.IDFrom
	}
	if l.opts.Scheme == "" || strings.EqualFold(l.opts.Scheme, webhook.DefaultScheme) {
		return webhook.IDSource{}
	}
	s, err := webhook.NewScheme(l.opts.Scheme, webhook.Options{Secrets: []string{l.secret}})
	if err != nil {
		return webhook.IDSource{} // the receiver refuses the name first
	}
	return s.IDFrom()
}

// endpointID is the one endpoint the run's sender delivers to.
func (l *live) endpointID() (string, error) {
	var id string
	h := l.host
	h.mu.Lock()
	defer h.mu.Unlock()
	eps, err := h.s.Endpoints()
	if err != nil {
		return "", err
	}
	if len(eps) != 1 {
		return "", fmt.Errorf("the run's sender holds %d endpoints, expected 1", len(eps))
	}
	id = eps[0].ID
	return id, nil
}

func (l *live) prepareLoad() error {
	pacer, err := plan.LoadPacer(l.s)
	if err != nil {
		return err
	}
	l.pacer = pacer
	cfg := loadgen.Config{
		Pacer:     pacer,
		Payload:   loadgen.DefaultPayload(l.s.Load.PayloadBytes),
		Keys:      l.s.Load.Keys,
		IDPrefix:  l.idPrefix,
		EventType: "hookrig.scenario",
		Seed:      l.s.Seed,
		Clock:     l.clk,
		OnSent:    l.onSent,
	}
	if l.trigger == nil {
		if l.fleet != nil {
			cfg.Target = l.fleetTarget()
		} else {
			id, err := l.endpointID()
			if err != nil {
				return err
			}
			cfg.Target = loadgen.Target{URL: l.ingestURL(), Ingest: id}
		}
		if c := l.s.Load.Payloads.Capture; c != "" {
			if cfg.Payload, err = loadgen.LoadCapturePayload(c); err != nil {
				return fmt.Errorf("load.payloads.capture: %w", err)
			}
		}
	} else {
		t := l.trigger.Expand(l.deliverTo)
		cfg.Target = loadgen.Target{URL: t.URL, Method: t.Method}
		for name, v := range t.Headers {
			cfg.Target.Header = append(cfg.Target.Header, loadgen.Header{Name: name, Value: v})
		}
		size := 0 // the body is the user's: padded only where it says {{pad}}
		if padVar.MatchString(t.Body) {
			size = l.s.Load.PayloadBytes
		}
		if cfg.Payload, err = loadgen.NewTemplatePayload("trigger body", t.Body, size); err != nil {
			return err
		}
	}
	// Checked now, so that a mistake fails the run before anything is
	// sent; built again in run, with t0 as its Start.
	if _, err := loadgen.New(cfg); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	l.loadCfg = cfg
	return nil
}

// run sends the load from t0, drains and works out the result.
func (l *live) run(ctx context.Context) (*verdict.Result, error) {
	l.t0 = l.clk.Now()
	// The load's phases count from t0 too, not from when Run gets going.
	loadCfg := l.loadCfg
	loadCfg.Start = l.t0
	load, lerr := loadgen.New(loadCfg)
	if lerr != nil {
		return nil, fmt.Errorf("load: %w", lerr)
	}
	n, _ := loadgen.Length(l.pacer)
	l.checker.Store(verdict.NewChecker(l.t0, verdict.WithAnswers(), verdict.WithCapacity(int(min(loadgen.Hits(l.pacer, n), 1<<24)))))
	// The proxy's rule windows count from t0, as the load phases and the
	// checker do.
	l.proxy.SetStart(l.t0)
	if err := l.proxy.ReplaceRules(l.rules); err != nil {
		return nil, fmt.Errorf("fault rules: %w", err)
	}
	stopProgress := l.reportProgress()
	crashesDone, stopCrashes := l.scheduleCrashes()

	_, _ = load.Run(ctx) // its result is what OnSent heard
	loadEnd := l.clk.Now().Sub(l.t0)
	l.loadDone.Store(true)
	interrupted := ctx.Err() != nil
	stopCrashes()
	if err := <-crashesDone; err != nil {
		stopProgress()
		l.lastProgress(nil)
		return nil, err
	}

	timedOut, cut := l.drain(ctx, interrupted)
	interrupted = interrupted || cut
	end := l.clk.Now().Sub(l.t0)
	stopProgress()

	// The account is taken once nothing can add to it: the sender and
	// the proxy stop first (see settle), then what is left to read is
	// read, even after an interrupt.
	l.settle()
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	err := l.collect(cctx, timedOut)
	if err != nil {
		cancel()
		l.lastProgress(nil)
		return nil, err
	}
	if l.inst, err = l.instances(cctx); err != nil {
		l.note("the instances' counts could not be read: %v", err)
	}
	cancel()
	l.closeAll()
	info := verdict.RunInfo{
		Scenario:      l.s.Name,
		Description:   l.s.Description,
		Mode:          verdict.ModeLive,
		Seed:          l.s.Seed,
		LoadEnd:       loadEnd,
		End:           end,
		DrainTimedOut: timedOut,
		LoadSent:      l.sent.Load(),
		LoadRejected:  l.rejected.Load(),
	}
	info.Phases, info.Faults = plan.Windows(l.s)
	info.Groups = groupInfo(l.s)
	info.Target = l.target()
	res := l.checker.Load().Result(info)
	l.lastProgress(res)
	res.WallTime = end
	res.SpeedUp = 1
	if l.opts.Keep {
		if l.db != nil {
			l.note("the receivers' journals kept in %s (receipts-N.jsonl); the run's database %s (outbox, attempts, dedupe) kept on the PostgreSQL server", l.dir, l.db.name)
		} else {
			l.note("data kept in %s (the sender's %s, the receiver's receipts.jsonl)", l.dir, sender.OutboxFile)
		}
	}
	res.Instances = l.inst
	res.Notes = append(res.Notes, l.notes...)
	if interrupted {
		res.Notes = append(res.Notes, fmt.Sprintf("interrupted at %s: the load stopped early and the drain was cut short, so these numbers describe an incomplete run", loadEnd.Round(time.Millisecond)))
		return res, ErrInterrupted
	}
	return res, nil
}

func (l *live) note(format string, args ...any) {
	l.notes = append(l.notes, fmt.Sprintf(format, args...))
}

// sleepUntil waits until offset at since t0; false if quit came first.
func (l *live) sleepUntil(at time.Duration, quit <-chan struct{}) bool {
	return clock.SleepUntil(l.clk, l.t0.Add(at), quit)
}

// closeAll stops the components: the sender first (nothing new is
// attempted), then the proxy, then the receiver (its journal is flushed).
func (l *live) closeAll() {
	l.closeSenders()
	if l.ingest != nil {
		l.ingest.close()
		l.ingest = nil
	}
	if l.proxy != nil {
		_ = l.proxy.Close()
		l.proxy = nil
	}
	if l.rcvSrv != nil {
		l.rcvSrv.shutdown(time.Second)
		l.rcvSrv = nil
	}
	if l.rcvBalancer != nil {
		l.rcvBalancer.close()
		l.rcvBalancer = nil
	}
	for _, srv := range l.rcvInstances {
		srv.shutdown(time.Second)
	}
	l.rcvInstances = nil
	for _, rcv := range l.receivers() {
		if err := rcv.Close(); err != nil {
			l.log.Warn("closing the receiver", "err", err)
		}
	}
	l.rcv, l.rcvs = nil, nil
	if l.fleet != nil {
		l.fleet.rcvs = nil
	}
}

// cleanup releases everything, also after a failed setup, and removes the
// data directory Run created unless asked to keep it.
func (l *live) cleanup() {
	l.closeAll()
	if l.db != nil && !l.opts.Keep {
		if err := l.db.drop(); err != nil {
			l.log.Warn("dropping the run's database", "database", l.db.name, "err", err)
		}
		l.db = nil
	}
	if l.ownDir && !l.opts.Keep {
		_ = os.RemoveAll(l.dir)
	}
}
