package virtual

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/hookrig/hookrig/chaos/fault"
	"github.com/hookrig/hookrig/loadgen"
	"github.com/hookrig/hookrig/reference/receiver"
	"github.com/hookrig/hookrig/reference/sender"
	"github.com/hookrig/hookrig/reference/sender/delivery"
	"github.com/hookrig/hookrig/reference/webhook"
	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim/plan"
	"github.com/hookrig/hookrig/sim/verdict"
)

// Options adjust a virtual run. The zero value runs the scenario as
// written with DefaultModel.
type Options struct {
	// Model is the world's timing; the zero value means DefaultModel().
	Model *Model
	// IDPrefix starts every event id, as in a live run (default
	// plan.EventIDPrefix(seed)): the chaos rules' draws depend on the ids, so
	// the same prefix faults the same events as a live run of the seed.
	IDPrefix string
	// Progress, when set, hears how the run is going every
	// ProgressEvery of virtual time (default one virtual minute) and once
	// at the end. It runs on the simulating goroutine: keep it quick.
	Progress      func(Progress)
	ProgressEvery time.Duration

	fleet *fleetPlan // tests: this fleet instead of the scenario's
}

// Progress is a virtual run's state, for a progress display.
type Progress struct {
	// Elapsed is virtual time since the run started; LoadEnd when the
	// load stops and Deadline when the drain gives up, both virtual.
	Elapsed, LoadEnd, Deadline  time.Duration
	Accepted, Pending, Attempts int64
	// Events is how many kernel events ran so far.
	Events uint64
	Done   bool
}

// Stats describe the work a virtual run did, for benchmarks and
// the speed-up in a report's footer.
type Stats struct {
	Events   uint64        // kernel events run
	Attempts int64         // delivery attempts simulated
	Virtual  time.Duration // virtual time covered
}

// Run executes a scenario in virtual time: the same scenario, the
// same delivery policy (reference/sender's Policy, BreakerPolicy, Lanes)
// and the same fault choice (fault.Rules with the live proxy's per-request
// draws) as a live run, with the network, disk and receiver modelled (see
// Model), its event loop on one goroutine with no wall clock (the
// checker and the load's arrival plan beside it, each in order: see the
// package doc). The same scenario and seed
// give the same Result, byte for byte in JSON; the seed is s.Seed (set it
// to run another).
//
// It returns an error for a scenario it cannot simulate (the user's own
// sender or endpoint, which only a live run can exercise) or when ctx is
// cancelled. The result is unjudged: sim.RunVirtual evaluates the
// scenario's assertions on it.
func Run(ctx context.Context, s *scenarios.Scenario, opts Options) (*verdict.Result, Stats, error) {
	if s == nil {
		return nil, Stats{}, errors.New("sim: no scenario")
	}
	switch {
	case s.Sender.Trigger != nil:
		return nil, Stats{}, fmt.Errorf("sim: scenario %s drives your own sender (sender.trigger); virtual time can only model hookrig's reference sender: use hookrig run", s.Name)
	case s.Receiver.URL != "":
		return nil, Stats{}, fmt.Errorf("sim: scenario %s delivers to your own endpoint (receiver.url); virtual time can only model hookrig's reference receiver: use hookrig run", s.Name)
	}
	w, err := newWorld(s, opts)
	if err != nil {
		return nil, Stats{}, err
	}
	if err := w.run(ctx); err != nil {
		return nil, w.stats(), err
	}
	return w.result(), w.stats(), nil
}

// Event kinds.
const (
	evCommit   evKind = iota + 1 // the outbox's commit under way is durable
	evWake                       // the dispatcher looks for due events
	evUpstream                   // a copy of an attempt reaches the receiver
	evOutcome                    // an attempt's outcome reaches the sender
	evCrash                      // the sender is killed (ref: crash index)
	evRestart                    // the killed sender starts again
)

// world is one virtual run: the kernel, the models and the checker.
type world struct {
	k   *kernel
	m   Model
	s   *scenarios.Scenario
	chk *verdict.Checker
	// feed is chk's Pipe while run runs: the world records on its one
	// goroutine, without the lock a live run's feeders need, and the
	// checker works on another.
	feed *verdict.Pipe

	seed     uint64
	idPrefix string
	// assign is each event's endpoint (fleetPlan.assign), for the
	// arrival plan.
	assign func(num uint64) int32
	keys   []string

	phaseNames []string
	pacer      *loadgen.SequencePacer
	phaseStart []time.Duration

	snd  senderModel
	ob   outboxModel
	rcvs []*receiverModel // by group
	// paths are the endpoints' paths on the proxy, which rules match on
	// (endpoint.name, endpoint.group); groupNames and groups name a
	// fleet's groups (none with one endpoint).
	paths      []string
	groupNames []string
	groups     []verdict.GroupInfo

	attempts     []attempt
	freeAttempt  int32
	liveAttempts int // attempts not yet freed: on the wire, or their outcome not yet durable
	peakAttempts int // the most at once

	rules *fault.Rules
	// byGroup are the rules asked for an attempt to each group's
	// endpoints (plan.GroupRules), by group index; nil: ask rules.
	byGroup []*fault.Rules
	decider *fault.Decider
	req     fault.Request
	// The webhook headers' values in req.Header (when rules read headers):
	// each attempt writes into them.
	hdrID, hdrAttempt, hdrTimestamp []string
	ruleHeaders                     bool
	ruleBody                        bool
	payload                         *loadgen.Payload

	needPick  bool
	commitEnd int64

	sent, rejected int64
	loadEnd        int64
	deadline       int64
	end            int64
	timedOut       bool

	progress      func(Progress)
	progressEvery int64
	nextProgress  int64
}

func newWorld(s *scenarios.Scenario, opts Options) (*world, error) {
	m := DefaultModel()
	if opts.Model != nil {
		m = *opts.Model
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	policy := delivery.DefaultPolicy()
	if s.Sender.Policy != nil {
		policy = *s.Sender.Policy
	}
	if err := policy.Validate(); err != nil {
		return nil, fmt.Errorf("sim: scenario %s: %w", s.Name, err)
	}
	workers := s.Sender.Workers
	if workers <= 0 {
		workers = sender.DefaultWorkers
	}
	pacer, err := plan.LoadPacer(s)
	if err != nil {
		return nil, err
	}
	specs := plan.Rules(s)
	rules, err := fault.Compile(specs)
	if err != nil {
		return nil, fmt.Errorf("sim: scenario %s: faults: %w", s.Name, err)
	}
	w := &world{
		k: newKernel(s.Seed), m: m, s: s, seed: s.Seed,
		// Fed by Ref (its id index stays empty), and told when an event
		// can have no more records: its final state, and no attempt of it
		// left on the wire (HoldRef). So it keeps the pending set only.
		chk:         verdict.NewChecker(virtualEpoch, verdict.WithSettling()),
		idPrefix:    opts.IDPrefix,
		pacer:       pacer,
		rules:       rules,
		decider:     fault.NewDecider(s.Seed),
		freeAttempt: -1,
		ob:          outboxModel{commit: float64(m.Commit), sigma: m.CommitSigma, per: int64(m.CommitPerWrite)},
		loadEnd:     int64(s.LoadEnd()),
		progress:    opts.Progress,
	}
	w.deadline = w.loadEnd + int64(s.Drain.Timeout)
	if w.idPrefix == "" {
		w.idPrefix = plan.EventIDPrefix(s.Seed)
	}
	fp := planFleet(s)
	if opts.fleet != nil {
		fp = *opts.fleet
	}
	w.snd = senderModel{policy: policy, jitter: delivery.NewJitter(s.Seed), workers: workers, ordered: policy.Ordered, wakeAt: -1,
		ids: fp.ids}
	w.assign = fp.assign
	w.snd.eps, w.snd.byRing = newEndpoints(fp, &w.snd.policy)
	w.paths, w.groupNames = fp.paths, fp.groupNames
	if len(s.Endpoints.Groups) == 0 {
		w.rcvs = []*receiverModel{newReceiverModel(s.Receiver, m, w.k)}
	}
	for _, g := range s.Endpoints.Groups {
		// Each group its own reference receiver (its processing, dedupe
		// window and per-endpoint rate limit), as the live fleet runs them.
		rm := newReceiverModel(g.Receiver, m, w.k)
		if rl := g.RateLimit; rl != nil {
			lim, err := receiver.NewRateLimit(receiver.RateLimitConfig{PerSecond: rl.PerSecond, Burst: rl.Burst, RetryAfter: rl.RetryAfter})
			if err != nil {
				return nil, fmt.Errorf("sim: scenario %s: group %s: rate_limit: %w", s.Name, g.Name, err)
			}
			rm.limit = lim
		}
		w.rcvs = append(w.rcvs, rm)
		w.groups = append(w.groups, verdict.GroupInfo{Name: g.Name, Endpoints: g.Count, Sick: g.Sick()})
	}
	for i := range s.Load.Keys {
		w.keys = append(w.keys, "key-"+strconv.Itoa(i))
	}
	for _, p := range s.Load.Phases {
		w.phaseNames = append(w.phaseNames, p.Name)
		w.phaseStart = append(w.phaseStart, p.Start)
	}
	asked := []*fault.Rules{rules}
	if byGroup, err := groupedRules(s, fp); err != nil {
		return nil, err
	} else if byGroup != nil {
		w.byGroup, asked = byGroup, byGroup
	}
	// Each attempt sets its endpoint's path (the live runner's endpoint
	// URL on the proxy), and the webhook headers and the body when a
	// rule it may be asked reads them.
	w.req = fault.Request{Method: http.MethodPost}
	for _, rs := range asked {
		for _, spec := range rs.Specs() {
			w.ruleHeaders = w.ruleHeaders || spec.Match != ""
		}
		w.ruleBody = w.ruleBody || rs.ReadsBody()
	}
	if w.ruleHeaders {
		h := http.Header{"Content-Type": {"application/json"}, "User-Agent": {sender.UserAgent}}
		for _, k := range []string{webhook.HeaderID, webhook.HeaderAttempt, webhook.HeaderTimestamp} {
			h.Set(k, "")
		}
		// Each attempt writes its values into these slices, which the
		// header holds: no allocation per attempt.
		w.hdrID, w.hdrAttempt, w.hdrTimestamp = h.Values(webhook.HeaderID), h.Values(webhook.HeaderAttempt), h.Values(webhook.HeaderTimestamp)
		w.req.Header = h
	}
	if w.ruleBody {
		w.payload = loadgen.DefaultPayload(s.Load.PayloadBytes)
		if c := s.Load.Payloads.Capture; c != "" {
			// The bodies the live run sends, so rules that read them match alike.
			p, err := loadgen.LoadCapturePayload(c)
			if err != nil {
				return nil, fmt.Errorf("load.payloads.capture: %w", err)
			}
			w.payload = p
		}
	}
	w.progressEvery = int64(opts.ProgressEvery)
	if w.progressEvery <= 0 {
		w.progressEvery = int64(time.Minute)
	}
	w.nextProgress = w.progressEvery
	for i, c := range s.Sender.Crashes {
		w.k.at(int64(c.At), evCrash, int32(i))
	}
	return w, nil
}

// groupedRules compiles, for each group of the fleet plan, the rules that
// can fire for a request to its endpoints (plan.GroupRules for the group
// its endpoints' paths name): they decide as all the rules would, without
// evaluating every group's scope for every attempt. Nil when the plan's
// groups do not each name one group by their paths (a test's fleet).
func groupedRules(s *scenarios.Scenario, fp fleetPlan) ([]*fault.Rules, error) {
	if len(s.Endpoints.Groups) == 0 || len(fp.paths) != len(fp.groups) {
		return nil, nil
	}
	var names []string
	var named []bool
	for i, g := range fp.groups {
		_, name := fault.FleetEndpoint(fp.paths[i])
		for int(g) >= len(names) {
			names, named = append(names, ""), append(named, false)
		}
		if named[g] && names[g] != name {
			return nil, nil
		}
		names[g], named[g] = name, true
	}
	out := make([]*fault.Rules, len(names))
	for g, name := range names {
		rs, err := fault.Compile(plan.GroupRules(s, name))
		if err != nil {
			return nil, fmt.Errorf("sim: scenario %s: faults of group %s: %w", s.Name, name, err)
		}
		out[g] = rs
	}
	return out, nil
}

// checkEvery is how many events run between looks at ctx.
const checkEvery = 1 << 14

// run sends the load, then drains until every accepted event is final or
// the drain times out.
func (w *world) run(ctx context.Context) (err error) {
	w.feed = w.chk.Pipe()
	defer func() {
		// Every record is applied before anyone reads the checker.
		if ferr := w.feed.Close(); ferr != nil && err == nil {
			err = ferr // the checker refused a record: a bug of the models
		}
	}()
	ingest := int64(w.m.Ingest)
	phase := 0
	var n uint64
	for a := range plan.Arrivals(w.pacer, w.assign, w.idPrefix) {
		t := a.At
		at := int64(t) + ingest
		if err := w.until(ctx, at, false); err != nil {
			return err
		}
		w.k.advance(at)
		for phase+1 < len(w.phaseStart) && t >= w.phaseStart[phase+1] {
			phase++
		}
		w.arrive(a, int16(phase))
		if w.needPick {
			w.pick()
		}
		if n++; n%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	if err := w.until(ctx, w.loadEnd, false); err != nil {
		return err
	}
	if err := w.until(ctx, w.deadline, true); err != nil {
		return err
	}
	w.end = max(w.loadEnd, w.k.now)
	if !w.settled() {
		w.timedOut, w.end = true, w.deadline
		for i := range w.snd.bySeq.pending() {
			ev := w.snd.slot(i)
			w.feed.Final(ev.ref, verdict.Final{State: verdict.StatePending, At: w.time(w.end)})
		}
	}
	w.progressed(true)
	return nil
}

// until runs every event due by t (drain: stopping early once nothing is
// pending).
func (w *world) until(ctx context.Context, t int64, drain bool) error {
	for {
		if drain && w.settled() {
			return nil
		}
		at, ok := w.k.peek()
		if !ok || at > t {
			return nil
		}
		w.step(w.k.pop())
		if w.needPick {
			w.pick()
		}
		if w.k.processed%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if w.progress != nil && w.k.now >= w.nextProgress {
			w.progressed(false)
		}
	}
}

// settled says whether there is nothing left to wait for, as the live
// drain judges it: nothing pending or in flight at the sender, and every
// request on the wire answered and every copy received.
func (w *world) settled() bool { return w.snd.inUse == 0 && w.liveAttempts == 0 }

// step runs one kernel event.
func (w *world) step(e kevent) {
	switch e.kind {
	case evCommit:
		w.committed()
	case evWake:
		if e.at == w.snd.wakeAt {
			w.snd.wakeAt = -1
		}
		w.needPick = true
	case evUpstream:
		w.upstream(e.ref)
		w.dropAttempt(e.ref)
	case evOutcome:
		w.outcome(e.ref)
		w.dropAttempt(e.ref)
	case evCrash:
		w.crash(w.s.Sender.Crashes[e.ref].Down)
	case evRestart:
		w.restart()
	}
}

// kickOutbox starts a commit if the writer is idle.
func (w *world) kickOutbox() {
	if cost := w.ob.start(w.k); cost > 0 {
		w.commitEnd = w.k.now + cost
		w.k.atSolo(w.commitEnd, evCommit, 0) // one commit at a time
	}
}

// committed applies the commit that just became durable, in order.
func (w *world) committed() {
	for _, wr := range w.ob.done() {
		switch wr.kind {
		case writeIngest:
			w.ingested(wr.ref)
		case writeClaim:
			w.claimed(wr.ref)
		case writeOutcome:
			w.recorded(wr.ref)
		case writeRecover:
			w.resume()
		}
	}
	w.kickOutbox()
}

// progressed calls the progress hook.
func (w *world) progressed(done bool) {
	if w.progress == nil {
		return
	}
	for w.nextProgress <= w.k.now {
		w.nextProgress += w.progressEvery
	}
	_ = w.feed.Sync() // its error is run's, at Close
	p := w.chk.Progress()
	w.progress(Progress{
		Elapsed: time.Duration(w.k.now), LoadEnd: time.Duration(w.loadEnd), Deadline: time.Duration(w.deadline),
		Accepted: p.Accepted, Pending: int64(w.snd.pending), Attempts: p.Attempts, Events: w.k.processed, Done: done,
	})
}

func (w *world) stats() Stats {
	p := w.chk.Progress()
	return Stats{Events: w.k.processed, Attempts: p.Attempts, Virtual: time.Duration(max(w.end, w.k.now))}
}

// result has the checker work out the guarantees (sim judges the
// scenario's assertions on it).
func (w *world) result() *verdict.Result {
	phases, faults := plan.Windows(w.s)
	res := w.chk.Result(verdict.RunInfo{
		Scenario: w.s.Name, Description: w.s.Description, Mode: verdict.ModeVirtual, Seed: w.seed,
		TraceHash: w.k.traceHash(),
		LoadEnd:   time.Duration(w.loadEnd), End: time.Duration(w.end), DrainTimedOut: w.timedOut,
		Phases: phases, Faults: faults, LoadSent: w.sent, LoadRejected: w.rejected,
		Target: verdict.Target{Receiver: verdict.ReferenceTarget, Sender: verdict.ReferenceTarget,
			AttemptTimeoutS: w.snd.policy.AttemptTimeout.Seconds()},
		Groups: w.groups,
	})
	return res
}

// time is the instant at offset t of the run: virtualEpoch.Add(t), the
// same value (UTC, no monotonic reading), made the cheaper way.
func (w *world) time(t int64) time.Time { return time.Unix(virtualEpochUnix, t).UTC() }

// off is t's offset from the run's start, t.Sub(virtualEpoch). Times the
// models and the policy make carry no monotonic reading, so Sub works on
// the wall clock; within 2^32 s of the start (where Sub cannot overflow)
// that is the seconds and nanoseconds apart, without Sub's overflow check.
func (w *world) off(t time.Time) int64 {
	if s := t.Unix() - virtualEpochUnix; s > -1<<32 && s < 1<<32 {
		return s*int64(time.Second) + int64(t.Nanosecond())
	}
	return int64(t.Sub(virtualEpoch))
}

func uitoa(n uint64) string { return strconv.FormatUint(n, 10) }
