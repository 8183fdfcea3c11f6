package virtual

import (
	"slices"
	"strings"
	"time"

	"github.com/hookrig/hookrig/reference/sender/delivery"
	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim/plan"
)

// The sender's endpoints in virtual time. The live dispatcher looks at
// every endpoint on every pick (reference/sender/dispatcher.go); with ten
// thousand endpoints that would be ten thousand looks per simulated event.
// Most endpoints have nothing to do at a given moment, and the ones that
// have nothing due, or that delivery.Admit has just told to wait until a
// time (a pause, an open circuit), would only decline again. So the model
// keeps two sets: the candidates, asked on every pick exactly as the live
// dispatcher asks them (in its turn order, within delivery.Split's share,
// through delivery.RoundRobin and delivery.Admit), and the parked, with
// the time they need a look again, in a heap. Only the asking is skipped:
// every decision is still delivery's, and a pick claims what the live
// pick over all endpoints would.

// endpointModel is one endpoint as the dispatcher runs it (endpointRT).
type endpointModel struct {
	// The endpoint's ready events: one of them may be held in the
	// endpoint itself (one, when hasOne), the rest in the queue (ready,
	// made on first use; queued counts what it holds). Most endpoints of
	// a fleet have one event ready at a time, picked at once: holding
	// it here spares a visit to the queue's memory, a cache miss per
	// event in a table of ten thousand. The earliest ready event is the
	// least of one and the queue's top (readyTop).
	ready    *readyQueue
	one      readyEntry
	hasOne   bool
	topOne   bool // readyTop found the least in one
	queued   int32
	inflight int32
	group    int32 // its group in the fleet (0 without one)
	ring     int32 // its place in the turn order
	durable  bool  // the endpoint's disabling is on disk (it survives a crash)
	cand     bool  // in the candidates
	listed   int8  // in the limited list of healthy (1) or suspect (2) endpoints; 0: in neither
	pooled   bool  // in the pooled list
	// idle: parked by parkPool with no attempt in flight; it still
	// wants workers, and is counted in the split (senderModel.idlePooled).
	idle bool
	// parkedBy says why the endpoint is parked: parkDue (its next event
	// is not due) or parkAdmit (Admit said wait, and it does not want
	// workers meanwhile); parkAt is when it needs a look (its key in the
	// park heap), parkUntil Admit's time for parkAdmit.
	parkedBy  parkReason
	parkAt    int64
	parkUntil int64
	// d is what delivery's steps read and change (breaker, flow, whether
	// it is disabled and why, with the policy), held here and passed to
	// them by pointer: copied in and out per attempt, its few hundred
	// bytes were much of a fleet's pick. d.Disabled is set in memory with
	// the 410, before it is durable. Last, so that the fields above,
	// which every event touches, share a cache line.
	d delivery.Endpoint
}

type parkReason uint8

const (
	parkNone parkReason = iota
	parkDue
	parkAdmit
	// parkLimit: as many attempts in flight as its share allows. Only
	// one of them finishing, or the share changing, can let another go
	// (Admit declines it first thing, changing nothing), so it waits in
	// the limited list (of healthy or of suspect endpoints: each has its
	// share) rather than being asked every pick.
	parkLimit
	// parkPool: suspect, and the suspect endpoints hold their whole
	// budget (delivery.Share.Full). Only an attempt of a suspect
	// endpoint finishing (or one turning healthy), or the split
	// changing, can let it go, so it waits in the pooled list. Admit
	// said so only after its pause, rate and breaker let it send, so it
	// wants workers while it waits: time only keeps it so, and its own
	// state changes only with an attempt of its own finishing, which
	// unparks it.
	parkPool
)

// fleetPlan is what the model needs of a scenario's endpoints: how many,
// their ids (the turn order is by id, as the live dispatcher's), paths on
// the proxy, groups, and which endpoint each event goes to.
type fleetPlan struct {
	ids    []string
	paths  []string
	groups []int32
	assign func(num uint64) int32 // nil: every event to endpoint 0
	// groupNames name the groups (none without a fleet).
	groupNames []string
}

// singleEndpoint is a scenario without a fleet: one endpoint, as the live
// runner registers it.
func singleEndpoint() fleetPlan {
	return fleetPlan{ids: []string{endpointID}, paths: []string{"/webhooks"}, groups: []int32{0}}
}

const endpointID = "ep_sim"

// newEndpoints makes the endpoint table, all under one policy, and the turn
// order (by id).
func newEndpoints(p fleetPlan, policy *delivery.Policy) (eps []endpointModel, byRing []int32) {
	eps = make([]endpointModel, len(p.ids))
	byRing = make([]int32, len(p.ids))
	for i := range byRing {
		byRing[i] = int32(i)
	}
	slices.SortFunc(byRing, func(a, b int32) int { return strings.Compare(p.ids[a], p.ids[b]) })
	for r, i := range byRing {
		eps[i].ring = int32(r)
		eps[i].group = p.groups[i]
		eps[i].parkAt = -1
		eps[i].d.Policy = policy
	}
	return eps, byRing
}

// stepped keeps the count of attempts in flight to suspect endpoints
// after a step of delivery changed endpoint e, which was suspect or not
// (was) before it.
func (sm *senderModel) stepped(e int32, was bool) {
	ep := &sm.eps[e]
	if now := ep.d.Flow.Suspect(); was != now && ep.inflight > 0 {
		d := int(ep.inflight)
		if !now {
			d = -d
			sm.poolFreed = true
		}
		sm.suspectsInflight += d
		sm.suspectBusy += sign(d)
	}
}

func sign(d int) int {
	if d < 0 {
		return -1
	}
	return 1
}

// split is the workers' split now (tnow: now as a time), as the live
// pick counts it: the endpoints with attempts in flight, those waiting
// for the suspects' budget, and the candidates that want workers.
func (w *world) split(now int64, tnow time.Time) delivery.Split {
	sm := &w.snd
	s := delivery.Split{
		Workers:          sm.workers,
		Wanting:          sm.busyEps + sm.idlePooled,
		Suspects:         sm.suspectBusy + sm.idlePooled,
		SuspectsInflight: sm.suspectsInflight,
	}
	for _, r := range sm.cands {
		e := sm.byRing[r]
		ep := &sm.eps[e]
		if ep.inflight > 0 {
			continue
		}
		top, ok := sm.head(ep)
		if ep.d.Wants(0, ok && top.due <= now, tnow) {
			s.Want(ep.d.Flow.Suspect(), 0)
		}
	}
	return s
}

// head returns endpoint ep's earliest ready event, dropping entries that
// left the queue while in it (dead-lettered); false when none is ready.
func (sm *senderModel) head(ep *endpointModel) (readyEntry, bool) {
	for {
		top, ok := ep.readyTop()
		if !ok {
			return readyEntry{}, false
		}
		if ev := sm.slot(top.slot); ev.where == slotReady && ev.seq == top.seq {
			return top, true
		}
		ep.readyPop()
	}
}

// readyTop returns the endpoint's least ready entry (some may be stale:
// see head); false when it has none.
func (ep *endpointModel) readyTop() (readyEntry, bool) {
	ep.topOne = true
	if ep.queued == 0 {
		return ep.one, ep.hasOne
	}
	top := ep.ready.top()
	if ep.hasOne && readyLess(&ep.one, &top) {
		return ep.one, true
	}
	ep.topOne = false
	return top, true
}

// readyPop removes the entry readyTop returned; no push in between.
func (ep *endpointModel) readyPop() {
	if ep.topOne {
		ep.hasOne = false
		return
	}
	ep.queued--
	ep.ready.pop()
}

// readyReset empties the endpoint's ready events (a crash).
func (ep *endpointModel) readyReset() {
	if ep.ready != nil {
		ep.ready.reset()
	}
	ep.hasOne, ep.queued = false, 0
}

// push makes an event ready at its endpoint.
func (w *world) push(e int32, ent readyEntry) {
	sm := &w.snd
	sm.eps[e].readyPush(ent)
	w.needPick = true
	w.touch(e)
}

// readyPush adds a ready entry: in the endpoint if it holds none there,
// else to the queue.
func (ep *endpointModel) readyPush(ent readyEntry) {
	if !ep.hasOne {
		ep.one, ep.hasOne = ent, true
		return
	}
	if ep.ready == nil {
		ep.ready = &readyQueue{}
	}
	ep.ready.push(ent)
	ep.queued++
}

// touch places endpoint e after its ready events or its state changed
// outside a pick: a candidate if an event is due, else parked until the
// live dispatcher would next look at it (the earliest due event, or
// Admit's time if it is parked by Admit).
func (w *world) touch(e int32) {
	sm := &w.snd
	ep := &sm.eps[e]
	if ep.cand || ep.parkedBy == parkLimit || ep.parkedBy == parkPool {
		return // a new event does not change what limits it
	}
	top, ok := sm.head(ep)
	if !ok || ep.d.Disabled {
		sm.unpark(ep)
		return
	}
	now := w.k.now
	switch {
	case ep.parkedBy == parkAdmit:
		// Admit's wait stands; an event that is not due yet is looked
		// at when it is (the live pick would wake for it first).
		at := ep.parkUntil
		if top.due > now {
			at = min(at, top.due)
		}
		sm.park(e, parkAdmit, at)
	case top.due <= now:
		sm.unpark(ep)
		sm.addCandidate(e)
	default:
		sm.park(e, parkDue, top.due)
	}
}

// park puts endpoint e in the park heap until at.
func (sm *senderModel) park(e int32, why parkReason, at int64) {
	ep := &sm.eps[e]
	ep.parkedBy = why
	if ep.parkAt == at {
		return
	}
	ep.parkAt = at
	sm.parked = append(sm.parked, parkEntry{at: at, ep: e})
	parkUp(sm.parked, len(sm.parked)-1)
}

// unpark forgets an endpoint's parking; its heap entry goes stale.
func (sm *senderModel) unpark(ep *endpointModel) {
	if ep.idle {
		ep.idle = false
		sm.idlePooled--
	}
	ep.parkedBy, ep.parkAt, ep.parkUntil = parkNone, -1, 0
}

// addCandidate puts endpoint e among the candidates, in turn order.
func (sm *senderModel) addCandidate(e int32) {
	ep := &sm.eps[e]
	if ep.cand {
		return
	}
	ep.cand = true
	i, _ := slices.BinarySearch(sm.cands, ep.ring)
	sm.cands = slices.Insert(sm.cands, i, ep.ring)
}

// unparkLimited makes every endpoint parked at its limit in list (0:
// healthy, 1: suspect) a candidate again: the share it was limited by
// changed. An endpoint is in the list of what it was when parked (it
// turns suspect or healthy only with an attempt of its own finishing,
// which unparks it); an entry left from an earlier parking is stale.
func (sm *senderModel) unparkLimited(list int) {
	for _, e := range sm.limited[list] {
		ep := &sm.eps[e]
		if int(ep.listed) != list+1 {
			continue // stale
		}
		ep.listed = 0
		if ep.parkedBy == parkLimit {
			sm.unpark(ep)
			sm.addCandidate(e)
		}
	}
	sm.limited[list] = sm.limited[list][:0]
}

// unparkPooled makes every endpoint waiting for the suspects' budget a
// candidate again: room may have freed, or the split changed.
func (sm *senderModel) unparkPooled() {
	for _, e := range sm.pooled {
		ep := &sm.eps[e]
		ep.pooled = false
		if ep.parkedBy == parkPool {
			sm.unpark(ep)
			sm.addCandidate(e)
		}
	}
	sm.pooled = sm.pooled[:0]
}

// unparkDue makes every endpoint whose parking ends by now a candidate.
func (sm *senderModel) unparkDue(now int64) {
	for len(sm.parked) > 0 {
		top := sm.parked[0]
		ep := &sm.eps[top.ep]
		if top.at == ep.parkAt && top.at > now {
			return
		}
		parkPop(&sm.parked)
		if top.at != ep.parkAt {
			continue // stale: parked again, or unparked, since
		}
		sm.unpark(ep)
		sm.addCandidate(top.ep)
	}
}

// nextParked is the earliest time a parked endpoint needs a look; false
// when none is parked.
func (sm *senderModel) nextParked() (int64, bool) {
	for len(sm.parked) > 0 {
		top := sm.parked[0]
		if top.at == sm.eps[top.ep].parkAt {
			return top.at, true
		}
		parkPop(&sm.parked)
	}
	return 0, false
}

// busy counts an endpoint's attempt in flight (d is +1 or -1), keeping
// the count of endpoints with attempts in flight, which all want workers,
// and of those and their attempts for suspect endpoints.
func (sm *senderModel) busy(e int32, d int32) {
	ep := &sm.eps[e]
	was := ep.inflight > 0
	ep.inflight += d
	sm.inflight += int(d)
	suspect := ep.d.Flow.Suspect()
	if suspect {
		sm.suspectsInflight += int(d)
		if d < 0 {
			sm.poolFreed = true
		}
	}
	if now := ep.inflight > 0; now != was {
		if now {
			sm.busyEps++
		} else {
			sm.busyEps--
		}
		if suspect {
			sm.suspectBusy += sign(int(d))
		}
	}
}

// parkEntry is a parked endpoint's look-again time; entries whose time no
// longer matches the endpoint's parkAt are stale and skipped.
type parkEntry struct {
	at int64
	ep int32
}

func parkLess(a, b parkEntry) bool { return a.at < b.at || (a.at == b.at && a.ep < b.ep) }

func parkUp(h []parkEntry, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !parkLess(h[i], h[p]) {
			return
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func parkPop(hp *[]parkEntry) {
	h := *hp
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		c := l
		if r := l + 1; r < len(h) && parkLess(h[r], h[l]) {
			c = r
		}
		if !parkLess(h[c], h[i]) {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
	*hp = h
}

// planFleet is the scenario's endpoints as sim/plan lays them out (the
// live runner asks the same plan): the ids are the endpoints' names, the
// paths their paths on the proxy (where rules read endpoint.name and
// endpoint.group), each event to the endpoint plan.Fleet.Assign gives it.
func planFleet(s *scenarios.Scenario) fleetPlan {
	f := plan.NewFleet(s)
	if f == nil {
		return singleEndpoint()
	}
	p := fleetPlan{ids: make([]string, f.Len()), paths: make([]string, f.Len()), groups: make([]int32, f.Len())}
	for i := range f.Len() {
		e := f.At(i)
		p.ids[i], p.paths[i], p.groups[i] = e.Name(), e.Path()+"/webhooks", int32(e.GroupIndex)
	}
	p.assign = func(num uint64) int32 { return int32(f.Assign(num).Index) }
	for _, g := range s.Endpoints.Groups {
		p.groupNames = append(p.groupNames, g.Name)
	}
	return p
}
