package fault

import (
	"math/rand/v2"
	"time"
)

// Decider makes the proxy's decision for one request at a time without
// allocating: it keeps the match evaluator and the random source that
// Rules.Act and RequestRand would build afresh for every request. The live
// proxy (one Decider per request in flight, pooled) and the virtual-time
// simulator (one for the run, deciding millions of attempts a second) both
// decide through Act, so there is one copy of the decision. A Decider is
// not safe for concurrent use.
type Decider struct {
	// Seen, when set, hears of every rule that was active for a request
	// and whose match was true (err nil) or failed at run time (err set:
	// a type error, or the rule went over its evaluation budget, see
	// budget.go), before the rule's probability roll. The proxy counts
	// matches and rule errors in its stats this way.
	Seen func(rule *Rule, err error)

	seed uint64
	ev   *evaluator
	pcg  rand.PCG
	rnd  *rand.Rand
}

// NewDecider returns a Decider drawing from seed, as a proxy configured
// with that Seed does.
func NewDecider(seed uint64) *Decider {
	d := &Decider{seed: seed, ev: newEvaluator()}
	d.rnd = rand.New(&d.pcg)
	return d
}

// Act is rs.Act(*r, elapsed, RequestRand(seed, *r, seq)): the Action to
// carry out for r when it was read at elapsed (on the rules' timeline),
// and the rule that fired (nil for none, with Pass()). seq is the
// request's arrival number, used for the draws only when r has no
// webhook-id and webhook-attempt (see RequestRand).
func (d *Decider) Act(rs *Rules, r *Request, seq uint64, elapsed time.Duration) (Action, *Rule) {
	if rs.Len() == 0 {
		return Pass(), nil
	}
	seedDraws(&d.pcg, d.seed, r.EventID, r.Attempt, seq)
	rule := rs.choose(d.ev, r, elapsed, d.rnd, d.Seen)
	d.ev.release()
	return planRule(rule, d.rnd)
}

// ReadsBody reports whether any rule's match reads the request body, so
// a caller that makes requests up (the simulator) builds one only then.
func (rs *Rules) ReadsBody() bool { return rs != nil && rs.body.any }
