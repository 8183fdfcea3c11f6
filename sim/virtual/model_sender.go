package virtual

import (
	"cmp"
	"slices"
	"time"

	"github.com/hookrig/hookrig/reference/sender/delivery"
	"github.com/hookrig/hookrig/sim/plan"
	"github.com/hookrig/hookrig/sim/verdict"
)

// The reference sender in virtual time. It mirrors the live dispatcher
// (reference/sender/dispatcher.go) call for call: events join their lane
// or their endpoint's ready heap once their ingest is durable; a pick
// takes due events within the workers and what delivery.Admit allows (the
// endpoint's window, pause, rate and circuit breaker) and claims them in the outbox;
// each attempt goes out once its claim is durable; its outcome releases
// the slots at once and goes through delivery.Settle (breaker, policy, a
// disabled endpoint's dead letter, a 410's disabling), and takes effect
// once it is durable. A crash loses everything not yet committed, and the
// restarted sender decides about each pending event with delivery.Recover,
// the step recover() takes. No decision is written here.

// slotState says where a pending event is.
type slotState uint8

const (
	slotFree      slotState = iota
	slotIngest              // its ingest is queued, not yet durable
	slotWaiting             // durable, behind the head of its lane
	slotReady               // durable, in the ready heap
	slotClaiming            // picked; its claim is queued
	slotInflight            // claimed; the attempt is under way
	slotRecording           // its outcome is queued
	slotDown                // durable, while the sender is down
)

// pendingEvent is an event the sender has not finished with. Slots are
// reused once an event is final, so memory follows the pending set, not
// the run's length.
type pendingEvent struct {
	id  string
	key string
	ref verdict.Ref // the event's place in the checker
	// claimN and claimAt are the durable claim of an attempt under way
	// (claimN 0: none): after a crash it is reported as interrupted.
	claimN uint32
	num    uint64 // the load generator's number (the id's suffix)
	rkey   uint64 // its number among its receiver's events (receiverModel.numbered)
	seq    uint64 // the sender's acceptance order
	// attempts is the event's delivery.DeliveryState's count; the rest
	// of that state is rebuilt when a step of delivery needs it (state):
	// FirstAt is the acceptance, and nothing decides on Last or LastAt.
	// Kept whole, the state was half of every slot.
	attempts uint32
	total    uint32 // the last webhook-attempt number
	due      int64
	claimAt  int64
	at       int64 // accepted at
	ep       int32 // its endpoint
	phase    int16
	where    slotState
}

// senderModel is the sender's state; the world drives it.
type senderModel struct {
	policy  delivery.Policy
	jitter  *delivery.Jitter // the live sender's keyed jitter: the same draws, so the same decisions
	workers int
	ordered bool

	gen  uint32 // bumped by each crash: attempts of an older one have no sender to come back to
	down bool

	// The endpoints, as the dispatcher runs them (endpointRT), and the
	// turn order: byRing[r] is the endpoint in place r (model_fleet.go).
	eps      []endpointModel
	byRing   []int32
	ids      []string
	turn     int     // the place where the next round of turns starts
	cands    []int32 // the candidates' places in the turn order, ascending
	parked   []parkEntry
	busyEps  int // endpoints with attempts in flight
	inflight int
	lanes    delivery.Lanes
	marks    []parkMark        // a pick's verdicts on its candidates
	limited  [2][]int32        // endpoints parked at their limit (parkLimit), healthy and suspect, some stale
	pooled   []int32           // endpoints waiting for the suspects' budget (parkPool), some stale
	shares   [2]delivery.Share // the last pick's, healthy and suspect (Full left out)
	// suspectsInflight counts attempts in flight to suspect endpoints,
	// suspectBusy the suspect endpoints with attempts in flight,
	// idlePooled the endpoints parked by parkPool with none; poolFreed
	// says suspectsInflight went down since the last pick.
	suspectsInflight, suspectBusy, idlePooled int
	poolFreed                                 bool

	wakeAt int64 // the earliest wake-up scheduled, -1: none
	// recovering: restarted, its fixes not yet durable (still not
	// listening, not dispatching).
	recovering bool

	slots   chunked[pendingEvent]
	free    []int32
	bySeq   seqTable // seq -> slot of the pending events
	seq     uint64
	pending int // accepted and not final
	inUse   int // slots in use (pending, plus ingests not yet durable)
	peak    int // the most slots ever in use at once
	scratch []int32
}

func (sm *senderModel) alloc() int32 {
	sm.inUse++
	sm.peak = max(sm.peak, sm.inUse)
	if n := len(sm.free); n > 0 {
		i := sm.free[n-1]
		sm.free = sm.free[:n-1]
		return i
	}
	return int32(sm.slots.grow())
}

func (sm *senderModel) release(i int32) {
	*sm.slot(i) = pendingEvent{}
	sm.free = append(sm.free, i)
	sm.inUse--
}

func (sm *senderModel) slot(i int32) *pendingEvent { return sm.slots.at(int(i)) }

func (sm *senderModel) lane(ev *pendingEvent) delivery.LaneKey {
	return delivery.LaneKey{Endpoint: sm.ids[ev.ep], Key: ev.key}
}

func (sm *senderModel) inLane(ev *pendingEvent) bool { return sm.ordered && ev.key != "" }

// arrive is an ingest request reaching the sender at now.
func (w *world) arrive(a *plan.Arrival, phase int16) {
	sm := &w.snd
	now := w.k.now
	w.sent++
	num, e := a.N, a.Endpoint
	if sm.down || sm.eps[e].d.Disabled {
		// Refused (nothing listens) or 409 (the endpoint is disabled):
		// never accepted.
		w.rejected++
		w.k.note(num, 0xdead)
		return
	}
	i := sm.alloc()
	ev := sm.slot(i)
	ev.num, ev.at, ev.phase, ev.where, ev.ep = num, now, phase, slotIngest, e
	ev.rkey = w.rcvs[sm.eps[e].group].number()
	ev.id = a.ID
	if len(w.keys) > 0 {
		ev.key = w.keys[num%uint64(len(w.keys))]
	}
	w.ob.submit(write{kind: writeIngest, ref: i})
	w.kickOutbox()
}

// ingested makes an event durable: accepted, and ready once due.
func (w *world) ingested(i int32) {
	sm := &w.snd
	ev := sm.slot(i)
	sm.seq++
	ev.seq = sm.seq
	sm.bySeq.add(i)
	sm.pending++
	ev.due = w.off(delivery.FirstDue(sm.policy, w.time(ev.at), sm.jitter, ev.id))
	w.k.note(ev.seq, uint64(ev.at))
	phase := ""
	if ev.phase >= 0 {
		phase = w.phaseNames[ev.phase]
	}
	// Ids are unique by construction (the prefix and a number), so the
	// checker need not index them.
	ev.ref = w.feed.NewRef(ev.id)
	acc := verdict.Accepted{Key: ev.key, Seq: ev.seq, At: w.time(ev.at), Phase: phase}
	if len(w.groupNames) > 0 {
		// The group only: the checker breaks its figures down by group
		// and reads nothing of Endpoint, and the ids' table is one more
		// cache miss per event in a fleet of ten thousand.
		acc.Group = w.groupNames[sm.eps[ev.ep].group]
	}
	w.feed.Accept(ev.ref, acc)
	if sm.down {
		ev.where = slotDown // durable; the restarted sender picks it up
		return
	}
	w.add(i)
}

// state is the event's delivery state as delivery's steps take it.
func (w *world) state(ev *pendingEvent) delivery.DeliveryState {
	return delivery.DeliveryState{Attempts: int(ev.attempts), FirstAt: w.time(ev.at)}
}

// add makes a durable event known to the dispatcher.
func (w *world) add(i int32) {
	sm := &w.snd
	ev := sm.slot(i)
	if sm.inLane(ev) && !sm.lanes.Add(sm.lane(ev), ev.seq) {
		ev.where = slotWaiting
		return
	}
	ev.where = slotReady
	w.push(ev.ep, readyEntry{due: ev.due, seq: ev.seq, slot: i})
}

// final forgets an event that reached its final state and lets the next
// one of its lane go.
func (w *world) final(i int32, state, reason string) {
	sm := &w.snd
	ev := sm.slot(i)
	now := w.k.now
	if sm.inLane(ev) && !sm.down {
		if next, ok := sm.lanes.Done(sm.lane(ev), ev.seq); ok {
			if j := sm.bySeq.at(next); j >= 0 && sm.slot(j).where == slotWaiting {
				n := sm.slot(j)
				n.due = max(n.due, now)
				n.where = slotReady
				w.push(n.ep, readyEntry{due: n.due, seq: n.seq, slot: j})
			}
		}
	}
	w.k.note(ev.seq, uint64(len(state)))
	w.k.noteString(reason)
	w.feed.Final(ev.ref, verdict.Final{State: state, At: w.time(now), Reason: reason})
	sm.bySeq.done(ev.seq)
	sm.pending--
	sm.release(i)
}

// pick claims every event that may be attempted now, as the dispatcher's
// pick does (endpoints taking turns, each within its fair share and what
// delivery.Admit allows), and arranges to look again when the next one is
// due. It asks the candidates only (model_fleet.go): an endpoint parked
// would decline, and its look-again time is what the live pick would
// wake for.
func (w *world) pick() {
	sm := &w.snd
	w.needPick = false
	if sm.down {
		return
	}
	now := w.k.now
	sm.unparkDue(now)
	if sm.inflight >= sm.workers {
		// Every worker is busy: each endpoint would decline its turn at
		// once (the live pick's first check), and a finishing attempt
		// picks again.
		return
	}
	if len(sm.cands) == 0 && len(sm.limited[0]) == 0 && len(sm.limited[1]) == 0 && len(sm.pooled) == 0 {
		// Nobody to ask and nobody parked on the split (half the picks:
		// the one after an attempt ends, its endpoint parked till its
		// next event is due): the split below would change nothing, and
		// the next pick that asks anyone works it out afresh.
		w.wakeParked()
		return
	}
	tnow := w.time(now)
	split := w.split(now, tnow)
	// The shares without the budget's fullness: only a change of these
	// can move an endpoint's limit.
	shares := [2]delivery.Share{split.Share(false), split.Share(true)}
	shares[1].Full = false
	for list := range shares {
		if shares[list] != sm.shares[list] {
			sm.unparkLimited(list)
		}
	}
	// Waiting for the budget, an endpoint can go once room frees or
	// the suspects' share changes (an endpoint alone has no budget).
	if shares[1] != sm.shares[1] || (sm.poolFreed && sm.suspectsInflight < delivery.SuspectBudget(sm.workers)) {
		sm.unparkPooled()
	}
	sm.shares, sm.poolFreed = shares, false
	if len(sm.cands) == 0 {
		// Nobody to ask (half the picks of a fleet: the one after an
		// attempt ends): only the parked endpoints' next look is left.
		w.wakeParked()
		return
	}
	start, _ := slices.BinarySearch(sm.cands, int32(sm.turn))
	served := int32(-1)
	sm.marks = sm.marks[:0]
	mark := func(r int32, why parkReason, at int64) {
		sm.marks = append(sm.marks, parkMark{ring: r, why: why, at: at})
	}
	claimed := false
	delivery.RoundRobin(len(sm.cands), start, func(k int) bool {
		if sm.inflight >= sm.workers {
			return false // a finishing attempt wakes us
		}
		r := sm.cands[k]
		e := sm.byRing[r]
		ep := &sm.eps[e]
		top, ok := sm.head(ep)
		if ep.d.Disabled || !ok {
			mark(r, parkNone, 0) // nothing to send: no longer a candidate
			return false
		}
		if top.due > now {
			w.wake(top.due)
			mark(r, parkDue, top.due)
			return false
		}
		es := &ep.d
		was := es.Flow.Suspect()
		split.SuspectsInflight = sm.suspectsInflight
		share := split.Share(was)
		ok, again := delivery.Admit(es, int(ep.inflight), share, tnow)
		sm.stepped(e, was)
		if !ok {
			switch {
			case !again.IsZero() || es.Disabled:
			case int(ep.inflight) >= es.Limit(share):
				mark(r, parkLimit, 0)
			case share.Full && es.Flow.Suspect():
				mark(r, parkPool, 0)
			}
			if !again.IsZero() {
				at := w.off(again)
				w.wake(at)
				// Paused or behind an open circuit, it wants no workers
				// until then: park it. Waiting for a token, it still
				// wants them, and is asked again each pick, as live.
				if !es.Wants(int(ep.inflight), true, tnow) {
					mark(r, parkAdmit, at)
				}
			}
			return false
		}
		i := top.slot
		ep.readyPop()
		sm.busy(e, 1)
		ev := sm.slot(i)
		ev.where = slotClaiming
		a := w.newAttempt(i, ev, now)
		w.ob.submit(write{kind: writeClaim, ref: a})
		claimed, served = true, r
		return true
	})
	if served >= 0 {
		sm.turn = int(served+1) % len(sm.eps)
	}
	if len(sm.marks) > 0 {
		sm.applyMarks()
	}
	w.wakeParked()
	if claimed {
		w.kickOutbox()
	}
}

// wakeParked arranges the pick at the parked endpoints' next look, as
// the live pick's wake-up, unless every worker is busy (a finishing
// attempt picks again).
func (w *world) wakeParked() {
	if sm := &w.snd; sm.inflight < sm.workers {
		if at, ok := sm.nextParked(); ok {
			w.wake(at)
		}
	}
}

// parkMark is a pick's verdict on a candidate: leave the candidates
// (parkNone) or be parked until at.
type parkMark struct {
	ring int32
	why  parkReason
	at   int64
}

// applyMarks takes the marked candidates out and parks those that wait
// for a time.
func (sm *senderModel) applyMarks() {
	for _, m := range sm.marks {
		e := sm.byRing[m.ring]
		ep := &sm.eps[e]
		ep.cand = false
		if m.why == parkLimit {
			ep.parkedBy = parkLimit
			list := 0
			if ep.d.Flow.Suspect() {
				list = 1
			}
			if int(ep.listed) != list+1 {
				ep.listed = int8(list + 1)
				sm.limited[list] = append(sm.limited[list], e)
			}
			continue
		}
		if m.why == parkPool {
			ep.parkedBy = parkPool
			if ep.inflight == 0 {
				ep.idle = true
				sm.idlePooled++
			}
			if !ep.pooled {
				ep.pooled = true
				sm.pooled = append(sm.pooled, e)
			}
			continue
		}
		if m.why != parkNone {
			if m.why == parkAdmit {
				ep.parkUntil = m.at
			}
			sm.park(e, m.why, m.at)
		}
	}
	sm.cands = slices.DeleteFunc(sm.cands, func(r int32) bool { return !sm.eps[sm.byRing[r]].cand })
}

// wake makes sure a pick runs at t.
func (w *world) wake(t int64) {
	sm := &w.snd
	if sm.wakeAt >= 0 && sm.wakeAt <= t {
		return // one is due no later
	}
	sm.wakeAt = t
	w.k.at(t, evWake, 0)
}

// claimed starts an attempt whose claim is durable.
func (w *world) claimed(ai int32) {
	a := &w.attempts[ai]
	sm := &w.snd
	ev := sm.slot(a.slot)
	ev.claimN, ev.claimAt = a.n, a.claimAt
	if a.gen != sm.gen {
		// Committed as the sender died: on restart the claim reads as an
		// attempt in flight, though nothing was sent.
		w.dropAttempt(ai)
		return
	}
	ev.where = slotInflight
	w.send(ai)
}

// finish is the attempt's outcome reaching the sender: slots free, the
// breaker and the policy decide, and the outcome is queued for the outbox.
func (w *world) finish(ai int32) {
	a := &w.attempts[ai]
	sm := &w.snd
	ev := sm.slot(a.slot)
	now := w.time(w.k.now)
	e := ev.ep
	sm.busy(e, -1)
	w.needPick = true
	es := &sm.eps[e].d
	was := es.Flow.Suspect()
	st := w.state(ev)
	a.dec = delivery.Settle(es, &st, a.out, now, sm.jitter, ev.id)
	a.attempts = uint32(st.Attempts)
	sm.stepped(e, was)
	// The live pick asks every endpoint again after an attempt: so
	// does this one (a parked endpoint is unparked; a disabled one drops
	// out at its turn).
	if ep := &sm.eps[e]; !ep.cand {
		sm.unpark(ep)
		w.touch(e)
	}
	ev.where = slotRecording
	w.ob.submit(write{kind: writeOutcome, ref: ai})
	w.kickOutbox()
}

// recorded applies an outcome that is durable: the event is due again or
// final, and the attempt is reported.
func (w *world) recorded(ai int32) {
	a := &w.attempts[ai]
	sm := &w.snd
	i := a.slot
	ev := sm.slot(i)
	ev.attempts, ev.total = a.attempts, a.n
	ev.claimN, ev.claimAt = 0, 0
	w.report(ev, a)
	e := ev.ep // read now: final frees the slot
	dec := a.dec
	switch dec.Kind {
	case delivery.RetryAt:
		ev.due = w.off(dec.At)
		if sm.down || a.gen != sm.gen {
			ev.where = slotDown
		} else {
			ev.where = slotReady
			w.push(ev.ep, readyEntry{due: ev.due, seq: ev.seq, slot: i})
		}
	case delivery.Delivered:
		w.final(i, verdict.StateDelivered, "")
	default:
		w.final(i, verdict.StateDeadLettered, dec.Reason)
	}
	if dec.Kind == delivery.DisableEndpoint {
		ep := &sm.eps[e]
		ep.d.Disabled, ep.durable, ep.d.Reason = true, true, delivery.GoneReason
		w.deadLetterWaiting(e, delivery.GoneReason)
	}
	w.dropAttempt(ai)
}

// deadLetterWaiting dead-letters every durable event of endpoint e not
// in flight, as disabling an endpoint does in the outbox.
func (w *world) deadLetterWaiting(e int32, reason string) {
	sm := &w.snd
	// The endpoint's durable events, in acceptance order, found among
	// the slots (as many as were ever pending at once) rather than by
	// walking every sequence number the run has given out.
	sm.scratch = sm.scratch[:0]
	for i := range int32(sm.slots.len()) {
		if ev := sm.slot(i); ev.where != slotFree && ev.seq != 0 && ev.ep == e {
			sm.scratch = append(sm.scratch, i)
		}
	}
	slices.SortFunc(sm.scratch, func(a, b int32) int { return cmp.Compare(sm.slot(a).seq, sm.slot(b).seq) })
	for _, i := range sm.scratch {
		// Read now: dead-lettering one lets the next of its lane go.
		switch sm.slot(i).where {
		case slotReady, slotWaiting, slotDown:
			if sm.slot(i).claimN == 0 {
				w.final(i, verdict.StateDeadLettered, reason)
			}
		}
	}
}

// report hands a durable attempt to the checker, as the sender's
// OnAttempt does.
func (w *world) report(ev *pendingEvent, a *attempt) {
	o := &a.out
	w.k.note(uint64(a.n)<<32|uint64(o.Status), uint64(a.outAt))
	w.feed.Attempt(ev.ref, verdict.AttemptRec{N: int(a.n), At: w.time(a.start), Duration: o.Elapsed,
		Status: o.Status, Err: string(o.Err), Fault: a.fault})
}

// crash kills the sender as kill -9 would: what was queued for the outbox
// is lost, attempts under way lose their sender, memory is gone.
func (w *world) crash(down time.Duration) {
	sm := &w.snd
	if sm.down {
		return
	}
	sm.gen++
	sm.down = true
	sm.wakeAt = -1
	for _, wr := range w.ob.drop() {
		switch wr.kind {
		case writeIngest:
			// The load generator's request fails: not accepted.
			w.rejected++
			sm.release(wr.ref)
		case writeClaim, writeOutcome:
			w.dropAttempt(wr.ref)
		}
	}
	for i := range sm.slots.len() {
		switch ev := sm.slot(int32(i)); ev.where {
		case slotFree, slotIngest: // an ingest being committed stays
		default:
			ev.where = slotDown
		}
	}
	sm.inflight, sm.busyEps = 0, 0
	sm.lanes = delivery.Lanes{}
	sm.cands, sm.parked, sm.pooled = sm.cands[:0], sm.parked[:0], sm.pooled[:0]
	sm.limited = [2][]int32{sm.limited[0][:0], sm.limited[1][:0]}
	sm.shares = [2]delivery.Share{}
	for e := range sm.eps {
		ep := &sm.eps[e]
		ep.readyReset()
		ep.inflight, ep.cand, ep.listed, ep.pooled = 0, false, 0, false
		sm.unpark(ep)
		// Learnt again after the restart, as the live sender does.
		ep.d.Breaker, ep.d.Flow = delivery.BreakerState{}, delivery.Flow{}
		ep.d.Disabled = ep.durable
	}
	sm.suspectsInflight, sm.suspectBusy, sm.idlePooled, sm.poolFreed = 0, 0, 0, false
	// The commit under way finishes first (Crash waits for the writer).
	w.k.at(max(w.k.now+int64(down)+int64(w.m.Restart), w.commitEnd), evRestart, 0)
}

// restart opens the outbox again: attempts claimed and not recorded are
// interrupted and go through the policy, events of a disabled endpoint are
// dead-lettered, and once those fixes are durable every pending event is
// scheduled again, in acceptance order (reference/sender's recover).
func (w *world) restart() {
	sm := &w.snd
	now := w.time(w.k.now)
	fixes := false
	for i := range sm.bySeq.pending() {
		ev := sm.slot(i)
		if ev.where != slotDown {
			continue
		}
		ep := &sm.eps[ev.ep].d // as the restarted sender read it back
		what, dec, ds := delivery.Recover(ep, w.state(ev), ev.claimN != 0, now, sm.jitter, ev.id)
		switch what {
		case delivery.Orphan:
			w.final(i, verdict.StateDeadLettered, dec.Reason)
			fixes = true
		case delivery.Interrupted:
			fixes = true
			w.k.note(uint64(ev.claimN), uint64(dec.Kind))
			w.feed.Attempt(ev.ref, verdict.AttemptRec{N: int(ev.claimN), At: w.time(ev.claimAt), Err: string(delivery.ErrInterrupted)})
			ev.attempts = uint32(ds.Attempts)
			ev.total, ev.claimN, ev.claimAt = ev.claimN, 0, 0
			if dec.Kind == delivery.RetryAt {
				ev.due = w.off(dec.At)
			} else {
				w.final(i, verdict.StateDeadLettered, dec.Reason)
			}
		}
	}
	if fixes {
		// Still down (not listening, not dispatching) until they are
		// durable.
		sm.recovering = true
		w.ob.submit(write{kind: writeRecover})
		w.kickOutbox()
		return
	}
	w.resume()
}

// resume schedules every pending event again once the restart's fixes
// are durable.
func (w *world) resume() {
	sm := &w.snd
	sm.recovering, sm.down = false, false
	for i := range sm.bySeq.pending() {
		if ev := sm.slot(i); ev.where == slotDown {
			// The restarted sender reads back its state's durable part
			// (st.Durable()): all the slot keeps anyway.
			w.add(i)
		}
	}
	w.needPick = true
}

// readyQueue is the endpoint's ready events by (due, seq), as the
// dispatcher's dueHeap, holding plain values: an event that leaves it
// early (dead-lettered) is skipped when it reaches the top.
//
// With a million events waiting out an outage, a heap costs a dozen
// cache misses per operation. But most pushes come in order within a
// class — new events, or retries with the same delay (a schedule's step,
// a Retry-After) — so the queue keeps up to maxRuns FIFO runs, each in
// order, and puts each push at the end of the run whose last entry is the
// latest one not after it (patience sorting); only what fits no run goes
// to a 4-ary heap. The top is the least of the runs' heads and the heap's.
type readyQueue struct {
	runs  [maxRuns]readyRun
	nruns int
	heap  []readyEntry
	n     int
	src   int // where top found the least entry (-1: the heap)
}

const maxRuns = 16

type readyRun struct {
	q    []readyEntry
	head int
}

type readyEntry struct {
	due  int64
	seq  uint64
	slot int32
}

func readyLess(a, b *readyEntry) bool {
	return a.due < b.due || (a.due == b.due && a.seq < b.seq)
}

func (r *readyQueue) len() int { return r.n }

func (r *readyQueue) reset() {
	for i := range r.nruns {
		r.runs[i].q, r.runs[i].head = r.runs[i].q[:0], 0
	}
	r.nruns, r.heap, r.n = 0, r.heap[:0], 0
}

func (r *readyQueue) push(e readyEntry) {
	r.n++
	best, empty := -1, -1
	for i := range r.nruns {
		run := &r.runs[i]
		if run.head == len(run.q) {
			if empty < 0 {
				empty = i
			}
			continue
		}
		tail := &run.q[len(run.q)-1]
		if !readyLess(&e, tail) && (best < 0 || readyLess(&r.runs[best].q[len(r.runs[best].q)-1], tail)) {
			best = i
		}
	}
	switch {
	case best >= 0:
	case empty >= 0:
		best = empty
		r.runs[best].q, r.runs[best].head = r.runs[best].q[:0], 0
	case r.nruns < maxRuns:
		// Runs past nruns are empty (trimmed off by pop) but may hold
		// their old entries' memory: start this one afresh.
		best = r.nruns
		r.nruns++
		r.runs[best].q, r.runs[best].head = r.runs[best].q[:0], 0
	default:
		r.heapPush(e)
		return
	}
	run := &r.runs[best]
	if run.head > 1024 && run.head*2 > len(run.q) {
		run.q = run.q[:copy(run.q, run.q[run.head:])]
		run.head = 0
	}
	run.q = append(run.q, e)
}

// top returns the least entry; pop, with no push in between, removes it.
func (r *readyQueue) top() readyEntry {
	var best *readyEntry
	r.src = -1
	if len(r.heap) > 0 {
		best = &r.heap[0]
	}
	for i := range r.nruns {
		run := &r.runs[i]
		if run.head < len(run.q) && (best == nil || readyLess(&run.q[run.head], best)) {
			best, r.src = &run.q[run.head], i
		}
	}
	return *best
}

func (r *readyQueue) pop() {
	r.n--
	if r.src < 0 {
		r.heapPop()
		return
	}
	r.runs[r.src].head++
	// Empty runs at the end are trimmed off, so that push and top,
	// which look at every run, look at the few in use: an endpoint
	// that once had many (a burst of retries) mostly has one or none.
	for r.nruns > 0 {
		if last := &r.runs[r.nruns-1]; last.head < len(last.q) {
			break
		}
		r.nruns--
	}
}

func (r *readyQueue) heapPush(e readyEntry) {
	h := append(r.heap, e)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 4
		if !readyLess(&h[i], &h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	r.heap = h
}

func (r *readyQueue) heapPop() {
	h := r.heap
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	// A 4-ary heap: shallower than a binary one, and its four children
	// share a cache line or two.
	i, n := 0, last
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		best := c
		for j := c + 1; j < c+4 && j < n; j++ {
			if readyLess(&h[j], &h[best]) {
				best = j
			}
		}
		if !readyLess(&h[best], &h[i]) {
			break
		}
		h[i], h[best] = h[best], h[i]
		i = best
	}
	r.heap = h
}
