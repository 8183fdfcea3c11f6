package delivery

import (
	"math/bits"
	"time"
)

// Flow control: how much of the sender one endpoint may have, learnt from
// its answers, and how the sender's workers are shared between endpoints.
// A webhook sender serves endpoints of very different health from one
// pool of workers; without these rules a few endpoints that never answer
// hold every worker for the attempt timeout and the healthy ones starve
// (the noisy neighbour), and a rate-limited endpoint is hammered by each
// event's own retry. Four rules, all pure and shared with the simulator:
//
//   - Fair share: the workers are split evenly between the endpoints that
//     want them (Split, FairShare), and endpoints take turns
//     (RoundRobin), one attempt each per turn, so no endpoint goes first
//     every time. An endpoint alone may use all its concurrency.
//   - A budget for suspect endpoints: an endpoint whose last attempt got
//     no answer (a timeout, a refused or reset connection) is suspect
//     until it answers again, and the suspect endpoints together hold at
//     most a quarter of the workers (SuspectBudget), split evenly between
//     them. An even split alone gives each endpoint at least one worker,
//     so a thousand dead endpoints, each seeing too few events to open
//     its breaker, would hold all 64 workers for the attempt timeout; the
//     budget keeps three quarters for the endpoints that answer, however
//     many are dead (see Split for why this rule).
//   - A concurrency window per endpoint (AIMD, as TCP's congestion
//     window): a new endpoint starts with InitialWindow attempts in
//     flight, earns one more with each acknowledged attempt up to
//     Policy.Concurrency, and halves its window when attempts time out
//     (once per round: the timeouts of attempts sent before the last
//     halving count once). An endpoint that never answers keeps the few
//     workers it started with, then one; capacity is earned by answers. The window
//     binds while other endpoints want workers (Endpoint.Limit).
//   - Throttling: a run of 429s (or 503s with Retry-After), most of the
//     last answers, says the endpoint as a whole is limiting, not one
//     request. The endpoint is
//     then paced by a token bucket whose rate starts just under what it
//     accepted in the last second, grows slowly with acknowledged
//     attempts and shrinks on each further throttled answer (AIMD); and a
//     Retry-After on a throttled answer pauses the whole endpoint until
//     then (attempts in flight finish). A lone 429 is the endpoint's word
//     about one request: that event waits its Retry-After (Policy.Next),
//     the others go on. Policy.RateLimit, when set, caps the rate from the
//     start.

// Flow constants.
const (
	// InitialWindow is a new endpoint's concurrency window (at most
	// Policy.Concurrency).
	InitialWindow = 4
	// The endpoint counts as rate limiting when at least throttleBurst
	// of its last burstAnswers answers were throttled (a limiter out of
	// tokens under a burst of attempts), or throttleShare of its last
	// shareAnswers (a sender steadily well over the limit). A few 429s at
	// random, one request over a per-key limit, do not slow the whole
	// endpoint: with three first attempts in ten refused at random
	// (scenario rate-limited-429) either count is reached about once in
	// ten million answers.
	throttleBurst, burstAnswers = 18, 20
	throttleShare, shareAnswers = 40, 64
	// minRate is the slowest an endpoint is paced, in attempts per
	// second.
	minRate = 1.0
	// rateShare is the part of the last second's acknowledged attempts
	// the rate starts at when the endpoint turns out to be limiting: just
	// under what it proved it accepts.
	rateShare = 0.9
	// rateCut multiplies the rate on a throttled answer to an attempt
	// sent at the current rate; rateStep is added per acknowledged one.
	// Small steps: at 300/s the rate grows by 30/s each second, so the
	// limiter's bucket empties slowly and few attempts are refused.
	rateCut  = 0.8
	rateStep = 0.1
	// bucketSpan is how much of the rate the token bucket holds at once:
	// attempts go out in small bursts rather than one per timer.
	bucketSpan = 20 * time.Millisecond
)

// Flow is what the sender has learnt about one endpoint's capacity. The
// zero value is a new endpoint. It is memory only: a restarted sender
// learns again.
type Flow struct {
	// PausedUntil stops new attempts until then: a throttled answer
	// carried Retry-After.
	PausedUntil time.Time
	// silent: the last attempt to end got no answer (see Suspect).
	// (With PausedUntil first: every pick reads both.)
	silent bool
	// Window is how many attempts may be in flight to the endpoint; 0
	// means not yet opened (InitialWindow).
	Window   int
	shrunkAt time.Time // when Window last halved: timeouts of attempts sent before it count once
	// Rate paces attempts, per second; 0 means no pacing (Policy.RateLimit
	// still applies when set).
	Rate   float64
	tokens float64
	filled time.Time // when tokens were last counted
	// cutAt is when Rate last changed down: a throttled answer to an
	// attempt sent before it says nothing about the new rate.
	cutAt time.Time
	// recent holds the last shareAnswers answers, a bit per answer (1:
	// throttled), newest in bit 0; answers counts them up to
	// shareAnswers.
	recent  uint64
	answers int
	// acked counts acknowledged attempts in the second from ackedFrom,
	// prevAcked in the second before.
	ackedFrom        time.Time
	acked, prevAcked int
	// Throttled counts attempts answered 429, or 503 with Retry-After.
	Throttled uint64
}

// Suspect reports whether the endpoint's last attempt to end got no
// answer at all (a timeout, a refused or reset connection, a closed or
// broken one): the next may hold a worker for the whole attempt timeout,
// so it draws on the suspect endpoints' budget of workers (Split) until
// it answers again, whatever the answer. A new endpoint is not suspect.
func (f Flow) Suspect() bool { return f.silent }

// Throttled reports whether the outcome is the endpoint asking the sender
// to slow down: a 429, or a 503 that says when to come back (a 503
// without Retry-After is an outage, left to the retry policy and the
// breaker).
func (o Outcome) Throttled() bool {
	if o.Err != ErrNone {
		return false
	}
	return o.Status == statusTooManyRequests || (o.Status == statusServiceUnavailable && o.RetryAfter > 0)
}

// Wants reports whether the endpoint counts in the split of the workers
// at now: it has attempts in flight, or an event due that it could send
// (not disabled, paused or behind an open circuit). Endpoints that
// cannot send do not shrink the others' share.
func (ep *Endpoint) Wants(inflight int, due bool, now time.Time) bool {
	if inflight > 0 {
		return true
	}
	if !due || ep.Disabled || now.Before(ep.Flow.PausedUntil) {
		return false
	}
	return ep.Policy.Breaker.Failures <= 0 || ep.Breaker.Phase != BreakerOpen || !now.Before(ep.Breaker.OpenUntil)
}

// Steady reports whether nothing but its window slows the endpoint at
// now: it is enabled, answers (not suspect), is neither paused nor paced,
// and its circuit is closed. Admitting an attempt to a steady endpoint
// changes nothing but its count in flight (no token, no probe), so a
// sender may prepare attempts for it ahead of its window (Ahead) and
// hand them back unsent when it stops being steady.
func (ep *Endpoint) Steady(now time.Time) bool {
	return !ep.Disabled && !ep.Flow.silent && !now.Before(ep.Flow.PausedUntil) && ep.Rate() == 0 &&
		(ep.Policy.Breaker.Failures <= 0 || ep.Breaker.Phase == BreakerClosed)
}

// AheadFactor is how many times its limit a steady endpoint may have
// prepared ahead (see Ahead).
const AheadFactor = 4

// Ahead is how many attempts the endpoint may have prepared beyond what
// Limit lets it start, with share at now: AheadFactor times its limit
// when it is steady, none otherwise. A sender whose attempt may start
// only once its claim is durable prepares (claims) them while the
// attempts before them are on the wire, so that a finished attempt's
// slot takes the next one at once instead of waiting for a commit; a
// crash then reports the prepared ones as interrupted too, so the factor
// is small.
func (ep *Endpoint) Ahead(share Share, now time.Time) int {
	if !ep.Steady(now) {
		return 0
	}
	return AheadFactor * ep.Limit(share)
}

// Share is an endpoint's part of the workers for one pick.
type Share struct {
	// Workers is the most attempts it may have in flight: an even split
	// of the workers between the endpoints that want them, at least one.
	Workers int
	// Contended says other endpoints want workers too; only then does
	// the endpoint's window bind (see Endpoint.Limit).
	Contended bool
	// Full says the endpoint is suspect and the suspect endpoints
	// together hold their whole budget: it may start no attempt until
	// one of theirs finishes (see Split).
	Full bool
}

// FairShare splits the workers between the endpoints that want them,
// none of them suspect. An endpoint "wants" workers while it has
// attempts in flight or events due.
func FairShare(workers, wanting int) Share {
	return Share{Workers: max(1, workers/max(1, wanting)), Contended: wanting > 1}
}

// SuspectPart is the divisor of the workers that suspect endpoints may
// hold together: a quarter.
const SuspectPart = 4

// SuspectBudget is how many of the workers the suspect endpoints may
// hold together: a quarter, at least one (a suspect endpoint must still
// be tried, or it could never show it answers again).
func SuspectBudget(workers int) int { return max(1, workers/SuspectPart) }

// Split is how the workers are shared between endpoints at one pick. The
// dispatcher counts, over the endpoints that want workers
// (Endpoint.Wants), how many there are and how many of them are suspect
// (Flow.Suspect), and the attempts in flight to suspect endpoints; as it
// admits an attempt to a suspect endpoint it counts SuspectsInflight up.
//
// Why a budget for suspect endpoints: the even split alone gives every
// wanting endpoint at least one worker, so when more endpoints that never
// answer want workers than there are workers (a thousand dead endpoints
// in a fleet of 100,000, each seeing too few events to open its breaker),
// each holds its one worker for the attempt timeout and the healthy
// starve. An endpoint's last attempt ending without an answer is the
// one sign, known before the next attempt, that the next may hold a
// worker for the whole timeout; so suspect endpoints share a fixed part
// of the workers (SuspectBudget) between them, evenly, and the healthy
// always keep the rest. A suspect endpoint is still tried, within the
// budget, and its first answer makes it healthy again; a new endpoint is
// not suspect. An endpoint alone (nothing else wants workers) keeps the
// whole of its concurrency, suspect or not: there is nobody to protect.
//
// Not chosen: counting endpoints not yet heard from as suspect (in a
// skewed fleet many events go to endpoints the sender has not heard from
// lately, and after a restart all are; they would queue behind the dead
// ones); a smaller window alone (it is per endpoint, and the harm grows
// with the number of dead endpoints, not with their concurrency);
// attempts that hold no worker while waiting (the cure, but another
// sender). What the budget does not cover: endpoints that fall silent at
// the same moment, or dead ones a restarted sender has forgotten, are not
// suspect until their first timeout, so each holds what its share allows
// for one timeout before the budget binds.
type Split struct {
	Workers          int // the sender's workers
	Wanting          int // endpoints that want workers
	Suspects         int // of those, the suspect ones
	SuspectsInflight int // attempts in flight to suspect endpoints
}

// Want counts an endpoint that wants workers at this pick, suspect or
// not, with inflight attempts already in flight. Every dispatcher counts
// through it, so they agree on what the split is made of.
func (s *Split) Want(suspect bool, inflight int) {
	s.Wanting++
	if suspect {
		s.Suspects++
		s.SuspectsInflight += inflight
	}
}

// Took counts an attempt admitted at this pick to an endpoint, suspect or
// not: a suspect one's draws on the budget.
func (s *Split) Took(suspect bool) {
	if suspect {
		s.SuspectsInflight++
	}
}

// Share is the share of an endpoint, suspect or not, at this split.
// Without suspect endpoints it is FairShare. With them, each suspect
// endpoint may have an even part of the budget in flight (at least one)
// while the suspect endpoints together hold less than the budget; the
// healthy endpoints split evenly what the suspect ones may not hold.
func (s Split) Share(suspect bool) Share {
	if s.Wanting <= 1 || (s.Suspects <= 0 && !suspect) {
		return FairShare(s.Workers, s.Wanting)
	}
	suspects := max(1, s.Suspects) // a suspect endpoint asking is one
	budget := SuspectBudget(s.Workers)
	each := max(1, budget/suspects)
	if suspect {
		return Share{Workers: each, Contended: true, Full: s.SuspectsInflight >= budget}
	}
	held := min(budget, suspects*each)
	return Share{Workers: max(1, (s.Workers-held)/max(1, s.Wanting-suspects)), Contended: true}
}

// RoundRobin gives attempts to n endpoints in turns, starting at start:
// take(i) tries to claim one attempt for endpoint i and says whether it
// did; an endpoint that declines gets no more turns this round. The round
// ends when every endpoint has declined. It returns where the next round
// starts (after the last endpoint served), so no endpoint is always first.
func RoundRobin(n, start int, take func(i int) bool) (next int) {
	if n <= 0 {
		return 0
	}
	if n == 1 {
		// One endpoint (every single-endpoint scenario, and most picks
		// of a fleet): its turns until it declines, as the loop below
		// would give them.
		for take(0) {
		}
		return 0
	}
	start = ((start % n) + n) % n
	next = start
	var few [64]bool // no allocation for the usual few endpoints (the simulator's one)
	willing := few[:0]
	if n > len(few) {
		willing = make([]bool, 0, n)
	}
	for range n {
		willing = append(willing, true)
	}
	for left := n; left > 0; {
		for k := range n {
			i := (start + k) % n
			if !willing[i] {
				continue
			}
			if take(i) {
				next = (i + 1) % n
			} else {
				willing[i] = false
				left--
			}
		}
	}
	return next
}

// Window returns the endpoint's concurrency window now.
func (ep *Endpoint) Window() int {
	if ep.Flow.Window > 0 {
		return min(ep.Flow.Window, ep.Policy.Concurrency)
	}
	return max(1, min(InitialWindow, ep.Policy.Concurrency))
}

// Limit is how many attempts the endpoint may have in flight with share.
// Its window binds only when other endpoints want workers: an endpoint
// alone keeps the whole of its policy's concurrency, as there is nobody
// to protect and a shrunken window would only slow it down (one that
// times out on first attempts and answers retries would crawl at an
// attempt a second while every worker idles).
func (ep *Endpoint) Limit(share Share) int {
	if !share.Contended {
		return min(ep.Policy.Concurrency, share.Workers)
	}
	return min(ep.Window(), share.Workers)
}

// Rate returns the attempts per second the endpoint is paced at; 0: not
// paced.
func (ep *Endpoint) Rate() float64 {
	r := ep.Flow.Rate
	if lim := ep.Policy.RateLimit; lim > 0 && (r == 0 || r > lim) {
		r = lim
	}
	return r
}

// Admit decides whether one more attempt may go to the endpoint at now,
// given the attempts it has in flight and its share of the workers (a
// suspect endpoint also waits while the suspects' budget is full);
// the caller has checked that an event is due. When it may not, again
// says when to ask again (zero: when an attempt of this endpoint
// finishes). Admitting may change the endpoint (a breaker's probe, a
// token taken): it changes *ep in place, which the caller keeps. (A
// pointer, not a value in and out: the endpoint is a few hundred bytes,
// and a simulator asks this for every attempt of a fleet.)
func Admit(ep *Endpoint, inflight int, share Share, now time.Time) (ok bool, again time.Time) {
	if ep.Disabled {
		return false, time.Time{}
	}
	if inflight >= ep.Limit(share) {
		return false, time.Time{}
	}
	if now.Before(ep.Flow.PausedUntil) {
		return false, ep.Flow.PausedUntil
	}
	rate := ep.Rate()
	if rate > 0 {
		ep.Flow.refill(rate, now)
		if ep.Flow.tokens < 1 {
			wait := time.Duration((1 - ep.Flow.tokens) / rate * float64(time.Second))
			return false, now.Add(max(wait, time.Microsecond))
		}
	}
	allowed, probe := ep.Policy.Breaker.allow(&ep.Breaker, now)
	if !allowed {
		if ep.Breaker.Phase == BreakerOpen {
			return false, ep.Breaker.OpenUntil
		}
		return false, time.Time{} // half-open: the probe's outcome wakes the caller
	}
	if share.Full && ep.Flow.Suspect() {
		// Last, so that only an endpoint that could send now waits for
		// the suspects' budget (it wants workers meanwhile); the
		// breaker's probe and the token stay untaken. An attempt of a
		// suspect endpoint finishing wakes the caller.
		return false, time.Time{}
	}
	if probe {
		ep.Breaker.takeProbe()
	}
	if rate > 0 {
		ep.Flow.tokens--
	}
	return true, time.Time{}
}

// refill counts the tokens earned since they were last counted, up to
// the bucket's size.
func (f *Flow) refill(rate float64, now time.Time) {
	burst := max(1, rate*bucketSpan.Seconds())
	if f.filled.IsZero() {
		f.tokens, f.filled = burst, now
		return
	}
	if dt := now.Sub(f.filled); dt > 0 {
		f.tokens = min(burst, f.tokens+rate*dt.Seconds())
		f.filled = now
	}
}

// adapt learns from an attempt that ended at now with outcome o: the
// window, the pause and the rate, in *f (a pointer: Settle calls it on
// every outcome, and a Flow is a few hundred bytes). Settle calls it.
func (p *Policy) adapt(f *Flow, o Outcome, now time.Time) {
	if f.Window == 0 {
		f.Window = max(1, min(InitialWindow, p.Concurrency))
	}
	if o.Err == ErrInterrupted {
		return // the sender's own stop says nothing about the endpoint
	}
	f.silent = o.Err != ErrNone
	sent := now.Add(-o.Elapsed)
	switch {
	case o.OK():
		f.ack(now)
		// Slow start below the policy's concurrency: one more per
		// acknowledged attempt, as the window was earned.
		if f.Window < p.Concurrency {
			f.Window++
		}
		if f.Rate > 0 {
			f.Rate += rateStep
			if p.RateLimit > 0 {
				f.Rate = min(f.Rate, p.RateLimit)
			}
		}
	case o.Err == ErrTimeout && !sent.Before(f.shrunkAt):
		// The endpoint held a worker for the whole attempt timeout.
		// Halve once per round, as TCP does per window: the attempts
		// sent before the last halving time out together and say it
		// once.
		f.Window = max(1, f.Window/2)
		f.shrunkAt = now
	}
	throttled := o.Throttled()
	f.recent = f.recent<<1 | b2u(throttled)
	f.answers = min(f.answers+1, shareAnswers)
	if !throttled {
		return
	}
	f.Throttled++
	limiting := f.Rate > 0 || f.runOfThrottles()
	if !limiting {
		return
	}
	if f.Rate == 0 {
		// It turned out to be limiting: pace it just under what it
		// acknowledged over the last second. If it acknowledged nothing
		// there is no rate to learn from, only the pause below.
		if acked := f.ackedRate(now); acked > 0 {
			f.Rate = max(minRate, rateShare*acked)
			if p.RateLimit > 0 {
				f.Rate = min(f.Rate, p.RateLimit)
			}
			f.cutAt, f.tokens, f.filled = now, 0, now
		}
		f.recent, f.answers = 0, 0
	} else if !sent.Before(f.cutAt) {
		f.Rate = max(minRate, f.Rate*rateCut)
		f.cutAt = now
	}
	if o.RetryAfter > 0 && p.RetryAfterMax > 0 {
		if until := now.Add(min(o.RetryAfter, p.RetryAfterMax)); until.After(f.PausedUntil) {
			f.PausedUntil = until
		}
	}
}

// runOfThrottles reports whether enough of the last answers were
// throttled to say the endpoint is limiting.
func (f Flow) runOfThrottles() bool {
	if f.answers >= burstAnswers && bits.OnesCount64(f.recent&(1<<burstAnswers-1)) >= throttleBurst {
		return true
	}
	return f.answers >= shareAnswers && bits.OnesCount64(f.recent) >= throttleShare
}

// ack counts an acknowledged attempt in its one-second window.
func (f *Flow) ack(now time.Time) {
	switch d := now.Sub(f.ackedFrom); {
	case f.ackedFrom.IsZero() || d >= 2*time.Second:
		f.ackedFrom, f.acked, f.prevAcked = now, 0, 0
	case d >= time.Second:
		f.ackedFrom, f.prevAcked, f.acked = f.ackedFrom.Add(time.Second), f.acked, 0
	}
	f.acked++
}

// ackedRate estimates the acknowledged attempts over the second before
// now: this window's count plus the part of the previous one still
// inside the second (a sliding window).
func (f Flow) ackedRate(now time.Time) float64 {
	d := now.Sub(f.ackedFrom)
	switch {
	case f.ackedFrom.IsZero() || d >= 2*time.Second:
		return 0
	case d >= time.Second:
		return float64(f.acked) * (1 - (d - time.Second).Seconds())
	}
	return float64(f.acked) + float64(f.prevAcked)*(1-d.Seconds())
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
