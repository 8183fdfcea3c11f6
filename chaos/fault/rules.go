package fault

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/expr-lang/expr/vm"
)

// RuleSpec is one rule as written in a rule file or sent to the control
// API:
//
//	{"name": "flaky", "match": "method == \"POST\"", "probability": 0.3,
//	 "fault": {"type": "status", "code": 503, "headers": {"Retry-After": "1"}},
//	 "after": "10s", "for": "30s"}
//
// Match (default: every request), Probability (default 1), After (default
// 0) and For (default: for ever) are optional. It decodes from JSON, and
// from YAML with goccy/go-yaml's UseJSONUnmarshaler option.
type RuleSpec struct {
	Name        string          `json:"name"`
	Match       string          `json:"match,omitempty"`
	Probability *float64        `json:"probability,omitempty"`
	Fault       json.RawMessage `json:"fault"`
	After       Duration        `json:"after,omitempty"`
	For         Duration        `json:"for,omitempty"`
	// Pos is where the rule was written ("rules.yaml:12:5"), set by
	// ParseRules so compile errors can point at it.
	Pos string `json:"-"`
}

// Rule is a compiled RuleSpec.
type Rule struct {
	spec        RuleSpec
	index       int
	fault       Fault
	match       *vm.Program
	body        bodyUse
	probability float64
	after       time.Duration
	until       time.Duration // 0: open-ended
}

// Name returns the rule's name.
func (r *Rule) Name() string { return r.spec.Name }

// Index returns the rule's position in its Rules (0-based).
func (r *Rule) Index() int { return r.index }

// Fault returns the rule's fault.
func (r *Rule) Fault() Fault { return r.fault }

// Spec returns the rule as it was written.
func (r *Rule) Spec() RuleSpec { return r.spec }

// Probability returns the chance that the rule fires when it matches.
func (r *Rule) Probability() float64 { return r.probability }

// ActiveAt reports whether elapsed lies in the rule's window [after,
// after+for).
func (r *Rule) ActiveAt(elapsed time.Duration) bool {
	return elapsed >= r.after && (r.until == 0 || elapsed < r.until)
}

// Rules is an ordered, compiled, immutable rule list. The zero value and
// nil hold no rules.
type Rules struct {
	list  []*Rule
	downs []*Rule
	body  bodyUse // what all the rules together need of a body
}

// RuleError is a rule that did not compile; Compile joins one per bad rule.
type RuleError struct {
	Rule  string // name, if it had one
	Index int
	Pos   string // file:line:col, when known
	Err   error
}

func (e *RuleError) Error() string {
	where := fmt.Sprintf("rule %q", e.Rule)
	if e.Rule == "" {
		where = fmt.Sprintf("rules[%d]", e.Index)
	}
	if e.Pos != "" {
		where = e.Pos + ": " + where
	}
	return where + ": " + e.Err.Error()
}

func (e *RuleError) Unwrap() error { return e.Err }

// Compile checks and compiles specs, in order. Every bad rule is reported
// (unknown fault, bad parameters, bad expression with its position,
// probability outside [0, 1], negative window, duplicate name), each
// naming the rule; one bad rule rejects the whole list.
func Compile(specs []RuleSpec) (*Rules, error) {
	rs := &Rules{list: make([]*Rule, 0, len(specs))}
	var errs []error
	seen := make(map[string]bool, len(specs))
	for i, s := range specs {
		r, err := compileRule(s, i)
		if err == nil && seen[s.Name] {
			err = fmt.Errorf("duplicate rule name (names must be unique)")
		}
		seen[s.Name] = true
		if err != nil {
			errs = append(errs, &RuleError{Rule: s.Name, Index: i, Pos: s.Pos, Err: err})
			continue
		}
		rs.list = append(rs.list, r)
		rs.body.merge(r.body)
		if _, ok := r.fault.(*Down); ok {
			rs.downs = append(rs.downs, r)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return rs, nil
}

func compileRule(s RuleSpec, i int) (*Rule, error) {
	if err := checkRuleName(s.Name); err != nil {
		return nil, err
	}
	r := &Rule{spec: s, index: i, probability: 1, after: s.After.D()}
	if s.Probability != nil {
		p := *s.Probability
		if math.IsNaN(p) || p < 0 || p > 1 {
			return nil, fmt.Errorf("probability must be between 0 and 1, got %v", p)
		}
		r.probability = p
	}
	if s.After < 0 || s.For < 0 {
		return nil, fmt.Errorf("after and for must not be negative, got after %v, for %v", s.After, s.For)
	}
	if s.For > 0 {
		r.until = s.After.D() + s.For.D()
	}
	f, err := Decode(s.Fault)
	if err != nil {
		return nil, err
	}
	r.fault = f
	if _, down := f.(*Down); down && (s.Match != "" || r.probability != 1) {
		return nil, errors.New("a down rule refuses connections before any request is read, so it takes no match or probability: use after/for")
	}
	if s.Match != "" {
		prog, body, err := compileMatch(s.Match)
		if err != nil {
			return nil, fmt.Errorf("match: %w", err)
		}
		r.match, r.body = prog, body
	}
	return r, nil
}

// checkRuleName keeps names usable in URLs (DELETE /v1/rules/{name}) and
// logs.
func checkRuleName(n string) error {
	if n == "" {
		return errors.New("missing name")
	}
	if len(n) > 64 {
		return fmt.Errorf("name %q is longer than 64 characters", n)
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("name %q: use letters, digits, '-', '_' and '.' only", n)
		}
	}
	return nil
}

// Len returns the number of rules.
func (rs *Rules) Len() int {
	if rs == nil {
		return 0
	}
	return len(rs.list)
}

// List returns the compiled rules in order.
func (rs *Rules) List() []*Rule {
	if rs == nil {
		return nil
	}
	return rs.list
}

// Specs returns the rules as written, in order.
func (rs *Rules) Specs() []RuleSpec {
	specs := make([]RuleSpec, 0, rs.Len())
	for _, r := range rs.List() {
		specs = append(specs, r.spec)
	}
	return specs
}

// Choose picks the fault for request r at elapsed, drawing from rnd: the
// first rule, in order, that is active at elapsed, whose match is true and
// whose probability roll succeeds. Every rule that is active and matches
// draws exactly one rnd.Float64 for its roll, fired or not, so the draws
// a fault's Plan sees depend only on the rules, the request and the time.
// A match that fails at run time (body.amount > 3 on a string) counts as
// no match. It returns nil, nil when no rule fires. Choose is pure: the
// same arguments and rnd state give the same answer.
func (rs *Rules) Choose(r Request, elapsed time.Duration, rnd *rand.Rand) (Fault, *Rule) {
	rule := rs.choose(newEvaluator(), &r, elapsed, rnd, nil)
	if rule == nil {
		return nil, nil
	}
	return rule.fault, rule
}

// Act is Choose followed by the fault's Plan with the same rnd: the Action
// for the request, Pass() when no rule fires. Decider.Act is the same
// decision without allocating, and what the proxy and the simulator call.
func (rs *Rules) Act(r Request, elapsed time.Duration, rnd *rand.Rand) (Action, *Rule) {
	return planRule(rs.choose(newEvaluator(), &r, elapsed, rnd, nil), rnd)
}

// planRule is the decision's last step: the fired rule's fault plans the
// Action with the draws that follow the rolls.
func planRule(rule *Rule, rnd *rand.Rand) (Action, *Rule) {
	if rule == nil {
		return Pass(), nil
	}
	return rule.fault.Plan(rnd), rule
}

// choose is Choose with a reusable evaluator and a hook (may be nil) told
// of every active rule whose match was true (err nil) or failed at run
// time (err set), for the proxy's stats and logs.
func (rs *Rules) choose(ev *evaluator, r *Request, elapsed time.Duration, rnd *rand.Rand, seen func(*Rule, error)) *Rule {
	if rs.Len() == 0 {
		return nil
	}
	ev.reset(r, elapsed, &rs.body)
	for _, rule := range rs.list {
		if !rule.ActiveAt(elapsed) {
			continue
		}
		ok, err := ev.match(rule)
		if seen != nil && (ok || err != nil) {
			seen(rule, err)
		}
		if !ok {
			continue
		}
		if rnd.Float64() < rule.probability {
			return rule
		}
	}
	return nil
}

// DownAt reports whether a down rule is active at elapsed: the listener
// should refuse connections.
func (rs *Rules) DownAt(elapsed time.Duration) bool {
	if rs == nil {
		return false
	}
	for _, r := range rs.downs {
		if r.ActiveAt(elapsed) {
			return true
		}
	}
	return false
}

// NextDownChange returns the first moment after elapsed at which a down
// window opens or closes, if any.
func (rs *Rules) NextDownChange(elapsed time.Duration) (time.Duration, bool) {
	var next time.Duration
	found := false
	consider := func(t time.Duration) {
		if t > elapsed && (!found || t < next) {
			next, found = t, true
		}
	}
	if rs != nil {
		for _, r := range rs.downs {
			consider(r.after)
			if r.until > 0 {
				consider(r.until)
			}
		}
	}
	return next, found
}
