package virtual

import (
	"net/http"
	"time"

	"github.com/hookrig/hookrig/chaos/fault"
	"github.com/hookrig/hookrig/reference/sender/delivery"
	"github.com/hookrig/hookrig/sim/verdict"
)

// The wire in virtual time: one attempt from the sender through the chaos
// proxy to the receiver and back. The proxy's decision is the live one
// (fault.Rules.Act with the same per-request random source, so the same
// seed faults the same attempts live and virtual), and the resulting
// Action is carried out as its doc comment describes, step by step, with
// the model's network and receiver times in between. The sender's side
// follows reference/sender's send: the attempt timeout runs from the
// start, a response whose headers arrived counts by its status even if
// its body is cut short or slow, and anything else is a transport error.

// attempt is one delivery attempt in flight, from its pick until its
// outcome is durable and the proxy has sent its last copy.
type attempt struct {
	slot    int32  // the event's slot (while the sender that made it lives)
	gen     uint32 // the sender's generation
	id      string
	ref     verdict.Ref
	num     uint64
	rkey    uint64 // the event's key in its receiver's dedupe window
	ep      int32  // its endpoint
	group   int32  // its endpoint's group: whose receiver answers
	n       uint32 // webhook-attempt
	claimAt int64  // picked (the claim's time)

	start    int64 // sent (its claim durable)
	deadline int64 // start + the attempt timeout
	act      fault.Action
	fault    string
	copies   int // upstream copies sent so far
	resolved bool

	out      delivery.Outcome
	outAt    int64
	dec      delivery.Decision
	attempts uint32 // the event's attempts counted with this one (delivery.Settle's state)

	refs int32 // the sender's hold plus kernel events about it
	next int32 // free list
}

func (w *world) newAttempt(slot int32, ev *pendingEvent, now int64) int32 {
	var ai int32
	if w.freeAttempt >= 0 {
		ai = w.freeAttempt
		w.freeAttempt = w.attempts[ai].next
	} else {
		w.attempts = append(w.attempts, attempt{})
		ai = int32(len(w.attempts) - 1)
	}
	w.liveAttempts++
	w.peakAttempts = max(w.peakAttempts, w.liveAttempts)
	w.attempts[ai] = attempt{slot: slot, gen: w.snd.gen, id: ev.id, ref: ev.ref, num: ev.num, rkey: ev.rkey, n: ev.total + 1,
		ep: ev.ep, group: w.snd.eps[ev.ep].group, claimAt: now, refs: 1, next: -1}
	// Until the attempt is freed its copies may still be received, after
	// the event is final: the checker keeps the event open till then.
	w.feed.Hold(ev.ref)
	return ai
}

// dropAttempt gives up one reference; the last frees the attempt.
func (w *world) dropAttempt(ai int32) {
	a := &w.attempts[ai]
	a.refs--
	if a.refs > 0 {
		return
	}
	w.feed.Release(a.ref)
	// Not zeroed: newAttempt writes every field; only its strings are
	// let go.
	a.id, a.fault, a.act.Response = "", "", fault.Response{}
	a.next = w.freeAttempt
	w.freeAttempt = ai
	w.liveAttempts--
}

// schedule queues a kernel event about attempt ai.
func (w *world) schedule(t int64, kind evKind, ai int32) {
	w.attempts[ai].refs++
	w.k.at(t, kind, ai)
}

// send puts an attempt on the wire now: the proxy reads it one hop later
// and decides its fate there.
func (w *world) send(ai int32) {
	now := w.k.now
	a := &w.attempts[ai]
	a.start = now
	a.deadline = now + int64(w.snd.policy.AttemptTimeout)
	net := int64(w.m.Network)
	t0 := now + net // the proxy has read the request
	if w.rules.DownAt(time.Duration(t0)) {
		// A down window closes the proxy's listener: the connection is
		// refused before any request is read or any rule consulted, and
		// the RST comes straight back.
		a.fault = (*fault.Down)(nil).Type() // as the live runner labels them
		w.resolve(ai, delivery.Outcome{Err: delivery.ErrRefused}, t0+net)
		return
	}
	act := fault.Pass()
	rs := w.rules
	if w.byGroup != nil {
		rs = w.byGroup[a.group]
	}
	if rs.Len() > 0 {
		var rule *fault.Rule
		act, rule = w.act(rs, a, t0)
		if rule != nil {
			a.fault = rule.Fault().Type()
		}
	}
	a.act = act
	if act.Answer == fault.AnswerRefuse {
		w.resolve(ai, delivery.Outcome{Err: delivery.ErrRefused}, t0+net)
		return
	}
	hold := t0 + int64(act.Hold)
	if act.Forward == 0 {
		w.answer(ai, hold+int64(act.Delay), nil)
		return
	}
	up := hold + net
	a.copies = 1
	w.schedule(up, evUpstream, ai)
	if up >= a.deadline {
		// The sender gives up before the receiver even has it.
		w.resolve(ai, delivery.Outcome{Err: delivery.ErrTimeout}, a.deadline)
	}
}

// act asks the chaos rules what happens to the attempt, as the proxy would
// at t0.
func (w *world) act(rs *fault.Rules, a *attempt, t0 int64) (fault.Action, *fault.Rule) {
	r := &w.req
	r.EventID, r.Attempt = a.id, int(a.n)
	r.Path = w.paths[a.ep]
	if w.ruleHeaders {
		w.hdrID[0] = a.id
		w.hdrAttempt[0] = uitoa(uint64(a.n))
		w.hdrTimestamp[0] = uitoa(uint64(w.time(a.start).Unix()))
	}
	if w.ruleBody {
		body, err := w.payload.Sample(a.num, w.seed)
		if err == nil {
			r.Body = body
		}
	}
	return w.decider.Act(rs, r, 0, time.Duration(t0))
}

// upstream is copy a.copies of the request reaching the receiver now.
func (w *world) upstream(ai int32) {
	now := w.k.now
	a := &w.attempts[ai]
	num, copyN := a.num, a.copies
	rm := w.rcvs[a.group]
	path := "" // read only by a rate limit: spare the look-up otherwise
	if rm.limit != nil {
		path = w.paths[a.ep]
	}
	ans := rm.receive(num, a.rkey, path, now)
	w.k.note(num<<8|uint64(copyN), uint64(ans.status))
	w.feed.Receipt(a.ref, verdict.ReceiptRec{At: w.time(now), Status: ans.status, Duplicate: ans.duplicate, Verified: true})
	back := now + ans.took + int64(w.m.Network) // the proxy has the answer
	if copyN == 1 && !a.resolved {
		w.answer(ai, back+int64(a.act.Delay), &ans)
	}
	if copyN < a.act.Forward {
		// The next copy goes CopyGap after this one finished.
		a.copies++
		w.schedule(back+int64(a.act.CopyGap)+int64(w.m.Network), evUpstream, ai)
	}
}

// answer works out what the sender gets from the proxy's answer, which
// starts at at (step 5 and 6 of fault.Action); up is copy 1's answer,
// nil when nothing was forwarded.
func (w *world) answer(ai int32, at int64, up *answer) {
	a := &w.attempts[ai]
	net := int64(w.m.Network)
	act := &a.act
	var status, bodyLen int
	var retryAfter string
	switch act.Answer {
	case fault.AnswerReset:
		w.resolve(ai, delivery.Outcome{Err: delivery.ErrReset}, at+net)
		return
	case fault.AnswerSilence:
		// Nothing until the proxy lets go (FIN, no response) or the
		// sender's own timeout.
		w.resolve(ai, delivery.Outcome{Err: delivery.ErrEOF}, at+int64(act.MaxHold)+net)
		return
	case fault.AnswerRespond:
		status, bodyLen = act.Response.Status, len(act.Response.Body)
		retryAfter = act.Response.Header.Get("Retry-After")
	default: // AnswerUpstream
		if up == nil {
			status, bodyLen = http.StatusBadGateway, len("hookrig chaos: nothing was forwarded\n")
		} else {
			status, bodyLen, retryAfter = up.status, up.bodyLen, up.retryAfter
		}
	}
	headers := at + net
	if act.Truncate && bodyLen == 0 {
		// Cut inside the header block: no response at all.
		w.resolve(ai, delivery.Outcome{Err: delivery.ErrEOF}, headers)
		return
	}
	end := at // the last body byte leaves the proxy
	sent := bodyLen
	if act.Truncate {
		sent = min(act.TruncateAfter, bodyLen-1)
	}
	if act.BodyRate > 0 && sent > 0 {
		chunk := max(1, act.BodyRate/10)
		every := int64(chunk) * int64(time.Second) / int64(act.BodyRate)
		end += int64((sent+chunk-1)/chunk-1) * every
	}
	o := delivery.Outcome{Status: status}
	if retryAfter != "" {
		o.RetryAfter, _ = delivery.ParseRetryAfter(retryAfter, w.time(headers))
	}
	if headers >= a.deadline {
		w.resolve(ai, delivery.Outcome{Err: delivery.ErrTimeout}, a.deadline)
		return
	}
	// With the headers in, the status stands: the sender reads the body
	// only to reuse the connection, and a body cut short or by the
	// timeout does not change the answer.
	w.resolve(ai, o, min(end+net, a.deadline))
}

// resolve fixes the sender's outcome of the attempt and when it learns
// it; past the attempt's deadline it is a timeout at the deadline.
func (w *world) resolve(ai int32, o delivery.Outcome, at int64) {
	a := &w.attempts[ai]
	if a.resolved {
		return
	}
	if at > a.deadline {
		o, at = delivery.Outcome{Err: delivery.ErrTimeout}, a.deadline
	}
	o.Elapsed = time.Duration(at - a.start)
	a.out, a.outAt, a.resolved = o, at, true
	w.schedule(at, evOutcome, ai)
}

// outcome is the attempt's outcome reaching the sender.
func (w *world) outcome(ai int32) {
	if w.attempts[ai].gen != w.snd.gen {
		// The sender that sent it died meanwhile; its claim will read
		// as interrupted when the new one starts.
		w.dropAttempt(ai)
		return
	}
	w.finish(ai)
}
