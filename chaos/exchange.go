package chaos

import (
	"errors"
	"fmt"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/hookrig/hookrig/chaos/fault"
	"github.com/hookrig/hookrig/reference/webhook"
)

// exchange is the per-request scratch space for the decision, pooled so
// the data path allocates no evaluator, VM or random source per request:
// a fault.Decider (the one the simulator decides with) and the Request it
// reads.
type exchange struct {
	dec *fault.Decider
	req fault.Request
	set *ruleSet // the rules the decision is made under, for its counters
}

func (p *Proxy) newExchange() any {
	x := &exchange{dec: fault.NewDecider(p.cfg.Seed)}
	// Bound once: it counts matches and rule errors (a match that failed
	// at run time or went over its budget) in set's counters.
	x.dec.Seen = func(r *fault.Rule, err error) {
		c := x.set.counters[r.Index()]
		if err != nil {
			c.matchErrors.Add(1)
			p.log.Debug("chaos: match failed", "err", err)
			return
		}
		c.matched.Add(1)
	}
	return x
}

// requestHeader lets a rule read the header fasthttp parsed (fault.Headers)
// without building a map per request.
type requestHeader fasthttp.RequestHeader

func (h *requestHeader) Get(name string) string {
	return string((*fasthttp.RequestHeader)(h).Peek(name))
}

// handle is the data path: read, decide, carry out, record.
func (p *Proxy) handle(c *inbound) {
	t0 := p.clock.Now()
	tot := p.totals.Load()
	tot.requests.Add(1)
	rec := AttemptRecord{
		Request: p.arrivals.Add(1),
		At:      t0,
		Method:  methodString(c.req.Header.Method()),
		Path:    c.pathString(),
	}
	if src := p.cfg.IDFrom; !src.IsNone() {
		// An id that cannot be found stays "": the request is still
		// forwarded, and the receiver says what is missing.
		rec.EventID, _ = src.Extract((*requestHeader)(&c.req.Header), c.req.Body())
	} else if id := c.req.Header.Peek(webhook.HeaderID); len(id) > 0 {
		rec.EventID = string(id)
	}
	if a := c.req.Header.Peek(webhook.HeaderAttempt); len(a) > 0 {
		rec.Attempt = fault.ParseAttempt(string(a))
	}
	if rec.Attempt == 0 && rec.EventID != "" && p.tries != nil {
		rec.Attempt = p.tries.next(rec.EventID)
	}
	act, rc := p.decide(c, &rec, t0, tot)
	p.carryOut(c, &rec, act, tot, rc)
}

// decide asks the rules in force what happens to the request in c, read
// at t0, through the Decider, and notes the rule that fired in rec and in
// the counters (which it returns, nil when none fired).
func (p *Proxy) decide(c *inbound, rec *AttemptRecord, t0 time.Time, tot *totals) (fault.Action, *ruleCounters) {
	set := p.rules.Load()
	if set.rules.Len() == 0 {
		return fault.Pass(), nil
	}
	x := p.scratch.Get().(*exchange)
	defer p.scratch.Put(x)
	x.set = set
	x.req = fault.Request{
		Method: rec.Method, Path: rec.Path, Body: c.req.Body(),
		Header:  (*requestHeader)(&c.req.Header),
		EventID: rec.EventID, Attempt: rec.Attempt,
	}
	act, rule := x.dec.Act(set.rules, &x.req, rec.Request, p.elapsed(t0))
	x.set, x.req = nil, fault.Request{}
	if rule == nil {
		return act, nil
	}
	rec.Rule, rec.Fault = rule.Name(), rule.Fault().Type()
	rc := set.counters[rule.Index()]
	rc.injected.Add(1)
	tot.injected.Add(1)
	return act, rc
}

// unreadable answers a request the proxy could not read (too large, bad
// syntax, too slow) and records it like any other: the sender did make an
// attempt, and the upstream never saw it.
func (p *Proxy) unreadable(c *inbound, err error) {
	status, why := fasthttp.StatusBadRequest, "malformed request: "+err.Error()
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		status, why = fasthttp.StatusRequestEntityTooLarge, fmt.Sprintf("request body over the limit of %d bytes", p.cfg.MaxBody)
	case errors.As(err, &small):
		status, why = fasthttp.StatusRequestHeaderFieldsTooLarge, "request headers too large"
	case timedOut(err), errors.Is(err, fasthttp.ErrTimeout):
		status, why = fasthttp.StatusRequestTimeout, "request not received in time"
	}
	c.resp.Reset()
	c.resp.SetStatusCode(status)
	c.resp.Header.SetContentType("text/plain; charset=utf-8")
	c.resp.SetBodyString("hookrig chaos: " + why + "\n")
	tot := p.totals.Load()
	tot.requests.Add(1)
	rec := AttemptRecord{
		Request: p.arrivals.Add(1), At: p.clock.Now(),
		Method: methodString(c.req.Header.Method()), Path: string(c.req.URI().Path()),
		EventID:      string(c.req.Header.Peek(webhook.HeaderID)),
		Attempt:      fault.ParseAttempt(string(c.req.Header.Peek(webhook.HeaderAttempt))),
		ClientStatus: status,
	}
	p.finish(&rec, tot, nil)
}

// finish stamps the record's duration and files it.
func (p *Proxy) finish(rec *AttemptRecord, tot *totals, rc *ruleCounters) {
	p.finishAt(rec, tot, rc, p.clock.Now())
}

// finishAt is finish with the end already read (the clock is read twice
// per plain request, not four times: it shows in profiles).
func (p *Proxy) finishAt(rec *AttemptRecord, tot *totals, rc *ruleCounters, end time.Time) {
	rec.Duration = end.Sub(rec.At)
	tot.outcomes.add(rec)
	if rc != nil {
		rc.outcomes.add(rec)
	}
	p.attempts.add(rec)
}

// carryOut executes act for the request in c (see Action for the
// phases). Nothing here knows which fault planned act.
func (p *Proxy) carryOut(c *inbound, rec *AttemptRecord, act fault.Action, tot *totals, rc *ruleCounters) {
	if act.Answer == fault.AnswerRefuse {
		c.end = endReset
		rec.ClientErr = "reset"
		p.finish(rec, tot, rc)
		return
	}
	if !p.wait(act.Hold) {
		shuttingDown(c, rec)
		p.finish(rec, tot, rc)
		return
	}
	var dup *duplicateRecord
	var end time.Time // when copy 1 came back
	if act.Forward > 0 {
		p.up.prepare(&c.req)
		if act.Forward > 1 {
			dup = p.sendCopies(&c.req, act.Forward-1, act.CopyGap, tot)
		}
		start := rec.At
		if act.Hold > 0 {
			start = p.clock.Now()
		}
		end = p.forward(c, rec, tot, start)
		if dup != nil {
			close(dup.first) // copies 2.. start now, in the background
		}
	} else if act.Answer == fault.AnswerUpstream {
		badGateway(&c.resp, "nothing was forwarded")
	}
	if !p.wait(act.Delay) {
		shuttingDown(c, rec)
		dup.finish(p, rec, tot, rc)
		return
	}
	switch act.Answer {
	case fault.AnswerRespond:
		c.resp.Reset()
		c.resp.SetStatusCode(act.Response.Status)
		for k, vs := range act.Response.Header {
			for _, v := range vs {
				c.resp.Header.Add(k, v)
			}
		}
		c.resp.SetBody(act.Response.Body)
	case fault.AnswerReset:
		c.end = endReset
		rec.ClientErr = "reset"
	case fault.AnswerSilence:
		rec.ClientErr = p.silence(c, act.MaxHold)
	}
	if rec.ClientErr == "" {
		rec.ClientStatus = c.resp.StatusCode()
		if act.BodyRate > 0 || act.Truncate {
			rec.ClientErr = p.writePaced(c, act)
		}
	}
	if dup == nil && !end.IsZero() && act.Delay == 0 && act.Answer == fault.AnswerUpstream && act.BodyRate == 0 && !act.Truncate {
		p.finishAt(rec, tot, rc, end) // the plain path: nothing happened since
		return
	}
	dup.finish(p, rec, tot, rc)
}

// forward sends copy 1, leaves the upstream's response (or a 502) in
// c.resp and returns when it came back.
func (p *Proxy) forward(c *inbound, rec *AttemptRecord, tot *totals, start time.Time) time.Time {
	err := p.up.do(&c.req, &c.resp)
	end := p.clock.Now()
	rec.UpstreamDuration = end.Sub(start)
	rec.UpstreamAt = end
	rec.Forwarded = 1
	tot.forwarded.Add(1)
	if err != nil {
		tot.upstreamErrors.Add(1)
		rec.UpstreamErr = errKind(err)
		badGateway(&c.resp, "upstream "+rec.UpstreamErr+": "+err.Error())
		return end
	}
	rec.UpstreamStatus = c.resp.StatusCode()
	return end
}

// shuttingDown answers a request whose hold the proxy's Close cut short.
func shuttingDown(c *inbound, rec *AttemptRecord) {
	c.resp.Reset()
	c.resp.SetStatusCode(fasthttp.StatusServiceUnavailable)
	c.resp.SetBodyString("hookrig chaos: shutting down\n")
	c.resp.SetConnectionClose()
	rec.ClientErr = "shutdown"
}

func badGateway(resp *fasthttp.Response, why string) {
	resp.Reset()
	resp.SetStatusCode(fasthttp.StatusBadGateway)
	resp.Header.SetContentType("text/plain; charset=utf-8")
	resp.SetBodyString("hookrig chaos: " + why + "\n")
}

// duplicateRecord gathers the statuses of copies 2.. so the request's
// record is filed once, complete, when both the client's answer and the
// last copy are done.
type duplicateRecord struct {
	first    chan struct{} // closed when copy 1 is done
	done     chan struct{} // closed when the other copies are done
	statuses []int
	ats      []time.Time // when each answer came back
}

// sendCopies starts the goroutine for copies 2..n+1: it snapshots req now
// (before copy 1 may change it) and sends once copy 1 is done.
func (p *Proxy) sendCopies(req *fasthttp.Request, n int, gap time.Duration, tot *totals) *duplicateRecord {
	d := &duplicateRecord{first: make(chan struct{}), done: make(chan struct{})}
	cp := fasthttp.AcquireRequest()
	req.CopyTo(cp)
	p.bg.Add(1)
	go func() {
		defer p.bg.Done()
		defer close(d.done)
		defer fasthttp.ReleaseRequest(cp)
		resp := fasthttp.AcquireResponse()
		defer fasthttp.ReleaseResponse(resp)
		<-d.first
		for range n {
			if !p.wait(gap) {
				return
			}
			status := 0
			if err := p.up.do(cp, resp); err == nil {
				status = resp.StatusCode()
			} else {
				tot.upstreamErrors.Add(1)
			}
			tot.forwarded.Add(1)
			d.statuses = append(d.statuses, status)
			d.ats = append(d.ats, p.clock.Now())
			resp.Reset()
		}
	}()
	return d
}

// finish files rec: at once without copies (d == nil), else once the
// copies are done, without holding up the client's answer (the wait runs
// in its own goroutine).
func (d *duplicateRecord) finish(p *Proxy, rec *AttemptRecord, tot *totals, rc *ruleCounters) {
	if d == nil {
		p.finish(rec, tot, rc)
		return
	}
	r := *rec
	r.Duration = p.clock.Now().Sub(r.At) // the client's side ends now
	p.bg.Add(1)
	go func() {
		defer p.bg.Done()
		<-d.done
		r.Forwarded += len(d.statuses)
		r.UpstreamStatuses = append([]int{r.UpstreamStatus}, d.statuses...)
		r.UpstreamAts = append([]time.Time{r.UpstreamAt}, d.ats...)
		tot.outcomes.add(&r)
		if rc != nil {
			rc.outcomes.add(&r)
		}
		p.attempts.add(&r)
	}()
}

// methodString avoids allocating for the common methods.
func methodString(m []byte) string {
	switch string(m) {
	case "POST":
		return "POST"
	case "GET":
		return "GET"
	case "PUT":
		return "PUT"
	case "PATCH":
		return "PATCH"
	case "DELETE":
		return "DELETE"
	case "HEAD":
		return "HEAD"
	case "OPTIONS":
		return "OPTIONS"
	}
	return string(m)
}
