package live

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/hookrig/hookrig/chaos"
	"github.com/hookrig/hookrig/loadgen"
	"github.com/hookrig/hookrig/reference/receiver"
	"github.com/hookrig/hookrig/reference/sender"
	"github.com/hookrig/hookrig/reference/sender/delivery"
	"github.com/hookrig/hookrig/sim/plan"
	"github.com/hookrig/hookrig/sim/verdict"
)

// What each component records, and how it reaches the checker. Every
// category has one source:
//
//   - accepted: the reference sender's outbox (its durable ingest acks),
//     or the load generator's 2xx answers from the user's trigger;
//   - attempts: the reference sender's own attempt history, labelled with
//     the fault the proxy injected; or, for the user's sender, the proxy's
//     attempt records;
//   - receipts: the reference receiver's receipts; or, for the user's
//     endpoint, its own journal (Options.ReceiptsURL) or else what the
//     proxy saw it answer;
//   - final states: the reference sender's; the user's sender has none
//     hookrig can see.

// poke wakes the drain to look again.
func (l *live) poke() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// onSent hears every request the load generator made.
func (l *live) onSent(s loadgen.Sent) {
	l.sent.Add(1)
	if s.Status < 200 || s.Status > 299 {
		l.rejected.Add(1)
		return
	}
	if l.trigger == nil {
		return // the sender's outbox is the list of what it accepted
	}
	l.accepted.Add(1)
	if c := l.checker.Load(); c != nil {
		_ = c.Accept(verdict.Accepted{ID: s.ID, Key: s.Key, Seq: s.Seq, At: s.Started.Add(s.Latency)})
	}
}

// onSenderAttempt hears the reference sender's attempts once durable; a
// final decision may be what the drain waits for.
func (l *live) onSenderAttempt(r sender.AttemptReport) {
	if r.Attempt.Err == delivery.ErrRefused && l.inDownWindow(r.Attempt.At) {
		l.refusedDown.Add(1) // a fault the proxy never saw, for the progress display
	}
	if r.Decision != delivery.RetryAt {
		l.poke()
	}
}

// onReceipt hears every request the reference receiver answered.
func (l *live) onReceipt(rc receiver.Receipt) {
	if c := l.checker.Load(); c != nil {
		c.Receipt(verdict.ReceiptRec{ID: rc.ID, At: rc.At, Status: rc.Status, Duplicate: rc.Duplicate, Verified: rc.Verified})
	}
	l.poke()
}

// onProxyAttempt hears every request the chaos proxy handled.
func (l *live) onProxyAttempt(r chaos.AttemptRecord) {
	defer l.poke()
	defer l.proxyRecords.Add(1)
	c := l.checker.Load()
	if c == nil || r.EventID == "" && l.trigger == nil && l.endpointURL == "" {
		return
	}
	if r.Forwarded > 0 {
		// How the endpoint itself answered the first copy, apart from
		// any fault injected in front of it.
		c.Answer(verdict.Answer{At: r.UpstreamAt, Duration: r.UpstreamDuration, Status: r.UpstreamStatus, Err: r.UpstreamErr})
	}
	if l.trigger == nil {
		if r.Fault != "" {
			l.faultMu.Lock()
			l.faultOf[attemptKey{r.EventID, r.Attempt}] = r.Fault
			l.faultMu.Unlock()
		}
	} else {
		n := r.Attempt
		l.faultMu.Lock()
		l.tries[r.EventID]++
		if n == 0 {
			n = l.tries[r.EventID] // the user's sender may not number attempts
		}
		l.faultMu.Unlock()
		c.Attempt(verdict.AttemptRec{ID: r.EventID, N: n, At: r.At, Duration: r.Duration,
			Status: r.ClientStatus, Err: clientErr(r.ClientErr), Fault: r.Fault})
	}
	if l.endpointURL != "" && l.journal == nil {
		// What the user's endpoint answered, copy by copy, is all hookrig
		// can see of it: a 2xx counts as received.
		// Each copy's receipt is when its answer came back to the proxy.
		statuses, ats := r.UpstreamStatuses, r.UpstreamAts
		if len(statuses) == 0 && r.Forwarded > 0 {
			statuses, ats = []int{r.UpstreamStatus}, []time.Time{r.UpstreamAt}
		}
		for i, st := range statuses {
			if st != 0 && i < len(ats) {
				c.Receipt(verdict.ReceiptRec{ID: r.EventID, At: ats[i], Status: st, Verified: true})
			}
		}
	}
}

// clientErr names what a client got instead of a whole answer, in the
// sender's terms.
func clientErr(e string) string {
	switch e {
	case "no_answer", "client_gone":
		return string(delivery.ErrTimeout)
	case "truncated":
		return string(delivery.ErrEOF)
	}
	return e
}

// faultFor is the fault behind one of the sender's attempts: the one the
// proxy injected, or "down" for a connection refused while the timeline
// had the endpoint down (the proxy never sees those requests).
func (l *live) faultFor(id string, a sender.Attempt) string {
	l.faultMu.Lock()
	f, ok := l.faultOf[attemptKey{id, a.N}]
	l.faultMu.Unlock()
	if ok {
		return f
	}
	if a.Err == delivery.ErrRefused && l.inDownWindow(a.At) {
		return "down"
	}
	return ""
}

// inDownWindow says whether the timeline had the endpoint down at t.
func (l *live) inDownWindow(t time.Time) bool {
	off := t.Sub(l.t0)
	for _, w := range l.downs {
		if off >= w.Start && (w.End <= w.Start || off < w.End) {
			return true
		}
	}
	return false
}

// settled says whether there is nothing left to wait for: the sender has
// nothing pending or in flight, the proxy has finished every request it
// read, and the receiver has seen every copy the proxy sent it.
func (l *live) settled() bool {
	c := l.checker.Load()
	if l.host != nil {
		st, down := l.senderStats()
		if down || st.Pending > 0 || st.InFlight > 0 {
			return false
		}
	} else if p := c.Progress(); p.Delivered < l.accepted.Load() {
		return false // the user's sender: wait for every accepted event
	}
	ps := l.proxy.Stats()
	if uint64(l.proxyRecords.Load()) < ps.Requests {
		return false
	}
	var received uint64
	for _, rcv := range l.receivers() {
		received += rcv.Stats().Received
	}
	return len(l.receivers()) == 0 || received >= ps.Forwarded
}

// drain waits, once the load has stopped, until the run settles or the
// scenario's drain timeout passes. It sleeps on the clock between looks
// and is woken early by final attempts and receipts. A cancelled ctx cuts
// the drain to Options.InterruptDrain and stops the faults (interrupt).
func (l *live) drain(ctx context.Context, interrupted bool) (timedOut, cut bool) {
	timeout := l.s.Drain.Timeout
	brief := l.opts.InterruptDrain
	if brief <= 0 {
		brief = 3 * time.Second
	}
	brief = min(brief, timeout)
	done := ctx.Done()
	if interrupted {
		timeout, done, cut = brief, nil, true
	}
	start := l.clk.Now()
	deadline := start.Add(timeout)
	l.beginDrain(start, timeout)
	if interrupted {
		l.interrupt()
	}
	for {
		if l.settled() {
			return false, cut
		}
		now := l.clk.Now()
		if !now.Before(deadline) {
			return true, cut
		}
		t := l.clk.NewTimer(min(100*time.Millisecond, deadline.Sub(now)))
		select {
		case <-l.wake:
		case <-t.C():
		case <-done:
			done, cut = nil, true
			deadline = minTime(deadline, now.Add(brief))
			l.drainBound.Store(int64(deadline.Sub(start)))
			l.interrupt()
		}
		t.Stop()
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// collect feeds the checker what only the end of the run can tell: the
// sender's accepted events, their attempts and final states, and the
// receipts of the user's endpoint's journal.
func (l *live) collect(ctx context.Context, timedOut bool) error {
	c := l.checker.Load()
	if l.journal != nil {
		rs, err := l.journal.read(ctx)
		if err != nil {
			return fmt.Errorf("reading your endpoint's receipts: %w", err)
		}
		for _, r := range rs {
			c.Receipt(r)
		}
		if n := l.journal.foreign; n > 0 {
			l.note("%d receipts in your endpoint's journal were for ids of other runs and were left out", n)
		}
	}
	if l.host == nil {
		l.note("the sender is your own: hookrig cannot see its queue, so an accepted event not received by the end of the drain counts as lost (it may still be retrying)")
		if timedOut {
			l.note("the drain timed out after %s with events still unreceived", l.s.Drain.Timeout)
		}
		return nil
	}
	var ferr error
	view, err := l.host.events(func(ev sender.Event, v outboxView) bool {
		a := verdict.Accepted{ID: ev.ID, Key: ev.Key, Seq: ev.Seq, At: ev.AcceptedAt}
		l.fleet.place(&a, ev.Endpoint)
		if ferr = c.Accept(a); ferr != nil {
			return false
		}
		for _, a := range ev.Attempts {
			c.Attempt(verdict.AttemptRec{ID: ev.ID, N: a.N, At: a.At, Duration: a.Duration,
				Status: a.Status, Err: string(a.Err), Fault: l.faultFor(ev.ID, a)})
		}
		f := verdict.Final{ID: ev.ID, At: ev.FinalAt, Reason: ev.Reason}
		switch {
		case ev.State == sender.StateDelivered:
			f.State = verdict.StateDelivered
		case ev.State == sender.StateDeadLettered && (v.reopenedAt.IsZero() || ev.FinalAt.Before(v.reopenedAt)):
			f.State = verdict.StateDeadLettered
		default:
			// Pending when the run ended (a dead letter written by
			// reopening the outbox is the reading's, not the run's).
			f.State = verdict.StatePending
			f.Reason = ""
		}
		ferr = c.Final(f)
		return ferr == nil
	})
	if err == nil {
		err = ferr
	}
	if err != nil {
		return fmt.Errorf("reading the sender's outbox: %w", err)
	}
	for _, ep := range view.endpoints {
		if ep.Disabled {
			c.Disable(verdict.Disable{At: ep.DisabledAt, Reason: ep.DisabledReason})
		}
	}
	rec, st := view.recovered, view.stats
	if n := int64(st.Interrupted) - int64(rec.Interrupted); n > 0 {
		if len(l.hosts) > 1 {
			l.note("%d attempts were in flight on sender instances that crashed; their leases expired, another instance reported them as interrupted and retried them, and those retries may be duplicates", n)
		} else {
			l.note("%d attempts were in flight when the sender crashed; their retries may be duplicates, and the sender reports them as interrupted", n)
		}
	}
	if rec.Interrupted > 0 {
		l.note("%d attempts were still in flight when the run ended and were cut off; they count as interrupted (their outcome is unknown: the endpoint may have received them)", rec.Interrupted)
	}
	return nil
}

// settle stops what could still add to the account before it is taken:
// the sender (attempts in flight get its shutdown grace, and those cut
// off stay claimed in the outbox, to be read as interrupted), then the
// proxy (the requests it is forwarding finish, and their answers are
// recorded). Reading the outbox while attempts were still in flight left
// them out, while the proxy went on recording their receipts: a drain
// that timed out reported more deliveries than attempts.
func (l *live) settle() {
	l.closeSenders()
	if l.proxy != nil {
		_ = l.proxy.Close()
	}
}

// closeSenders closes every sender instance, gracefully.
func (l *live) closeSenders() {
	for _, h := range l.hosts {
		if err := h.close(); err != nil {
			l.log.Warn("closing the sender", "instance", h.cfg.Instance, "err", err)
		}
	}
}

// target names what the run tested, for the report: never a secret (a
// URL's user info is dropped).
func (l *live) target() verdict.Target {
	t := verdict.Target{Receiver: verdict.ReferenceTarget, Sender: verdict.ReferenceTarget, Proxy: l.opts.ProxyAddr}
	if l.endpointURL != "" {
		t.Receiver = withoutUserInfo(l.endpointURL)
		t.Receipts = withoutUserInfo(l.opts.ReceiptsURL)
	}
	if l.trigger != nil {
		t.Sender = verdict.TriggerSender
	} else {
		t.AttemptTimeoutS = l.policy().AttemptTimeout.Seconds()
	}
	return t
}

// policy is the reference sender's delivery policy: the scenario's, or
// the default.
func (l *live) policy() delivery.Policy {
	if l.s.Sender.Policy != nil {
		return *l.s.Sender.Policy
	}
	return delivery.DefaultPolicy()
}

func withoutUserInfo(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}

// reportProgress calls Options.Progress every ProgressEvery until the
// returned stop. After an interrupt it reports once, at the moment; the
// last report comes from lastProgress.
func (l *live) reportProgress() (stop func()) {
	if l.opts.Progress == nil {
		return func() {}
	}
	every := l.opts.ProgressEvery
	if every <= 0 {
		every = time.Second
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		ticks := true
		for {
			var tc <-chan time.Time
			t := l.clk.NewTimer(every)
			if ticks {
				tc = t.C()
			}
			select {
			case <-tc:
				if !l.interrupted.Load() {
					l.opts.Progress(l.progress("load"))
				}
			case <-l.interruptCh:
				l.opts.Progress(l.progress("drain"))
				ticks = false
			case <-quit:
				t.Stop()
				return
			}
			t.Stop()
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}

// lastProgress sends the last progress report: the result's own counts,
// so that the last progress line and the report agree, or the run's
// state when it produced no result.
func (l *live) lastProgress(res *verdict.Result) {
	if l.opts.Progress == nil {
		return
	}
	if res == nil {
		l.opts.Progress(l.progress("done"))
		return
	}
	l.opts.Progress(Progress{
		Stage: "done", Elapsed: time.Duration(res.Run.EndS * float64(time.Second)),
		LoadEnd: l.s.LoadEnd(), DrainTimeout: l.s.Drain.Timeout,
		LoadSent: res.Load.Sent, LoadRejected: res.Load.Rejected,
		Accepted: res.Events.Accepted, Delivered: res.Events.Delivered, Pending: res.Events.Pending,
		Attempts: res.Attempts.Total, FaultsInjected: res.Attempts.Faulted,
		Interrupted: l.interrupted.Load(),
	})
}

// progress is the run's state now; stage "load" turns into "drain" once
// the load is over.
func (l *live) progress(stage string) Progress {
	elapsed := l.clk.Now().Sub(l.t0)
	loadEnd := l.s.LoadEnd()
	if stage == "load" && (elapsed >= loadEnd || l.loadDone.Load()) {
		stage = "drain"
	}
	phase := ""
	if stage == "load" {
		phase = plan.PhaseAt(l.s, elapsed)
	}
	p := Progress{
		Stage: stage, Phase: phase, Elapsed: elapsed,
		LoadEnd: loadEnd, DrainTimeout: l.s.Drain.Timeout, DrainStart: loadEnd,
		LoadSent: l.sent.Load(), LoadRejected: l.rejected.Load(),
		FaultsInjected: int64(l.proxyInjected()) + l.refusedDown.Load(),
		SenderDown:     l.sendersDown.Load() > 0,
		Interrupted:    l.interrupted.Load(),
	}
	if b := l.drainBound.Load(); b > 0 {
		p.DrainStart, p.DrainTimeout = time.Duration(l.drainStart.Load()), time.Duration(b)
	}
	if l.host != nil {
		st, _ := l.senderStats()
		p.Accepted, p.Delivered, p.Pending, p.Attempts = int64(st.Accepted), int64(st.Delivered), int64(st.Pending), int64(st.Attempts)
	} else {
		cp := l.checker.Load().Progress()
		p.Accepted, p.Delivered, p.Attempts = l.accepted.Load(), cp.Delivered, cp.Attempts
		p.Pending = max(p.Accepted-p.Delivered, 0)
	}
	return p
}

func (l *live) proxyInjected() uint64 {
	if l.proxy == nil {
		return 0
	}
	return l.proxy.Stats().Injected
}
