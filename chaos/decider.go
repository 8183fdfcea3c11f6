package chaos

import (
	"math/rand/v2"
	"time"
)

// Decider makes the proxy's decision for one request at a time without
// allocating: it keeps the match evaluator and the random source that
// Rules.Act and RequestRand would build afresh for every request (the
// proxy's data path pools the same pieces). The virtual-time simulator
// decides millions of attempts a second this way. A Decider is not safe
// for concurrent use.
type Decider struct {
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

// Act is rs.Act(*r, elapsed, RequestRand(seed, *r, seq)): the Action the
// proxy carries out for r when it reads it at elapsed, and the rule that
// fired (nil for none).
func (d *Decider) Act(rs *Rules, r *Request, seq uint64, elapsed time.Duration) (Action, *Rule) {
	if rs.Len() == 0 {
		return Pass(), nil
	}
	seedDraws(&d.pcg, d.seed, r.EventID, r.Attempt, seq)
	rule := rs.choose(d.ev, r, elapsed, d.rnd, nil)
	d.ev.req = nil
	if rule == nil {
		return Pass(), nil
	}
	return rule.fault.Plan(d.rnd), rule
}

// ReadsBody reports whether any rule's match reads the request body, so
// a caller that makes requests up (the simulator) builds one only then.
func (rs *Rules) ReadsBody() bool { return rs != nil && rs.body.any }
