package fault

import (
	"fmt"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// matchEnv is everything a rule's match expression can name. It is typed,
// so a misspelt name or a type error is caught when the rule is compiled,
// not on the first request.
type matchEnv struct {
	Method  string              `expr:"method"`
	Path    string              `expr:"path"`
	Attempt int                 `expr:"attempt"`
	EventID string              `expr:"event_id"`
	Elapsed time.Duration       `expr:"elapsed"`
	Body    map[string]any      `expr:"body"`
	Header  func(string) string `expr:"header"`
	// Endpoint is the fleet endpoint the request is for, read from its
	// path (endpoint.go); empty names outside a fleet.
	Endpoint endpointEnv `expr:"endpoint"`
}

// endpointEnv names a fleet endpoint and its group.
type endpointEnv struct {
	Name  string `expr:"name"`
	Group string `expr:"group"`
}

// compileMatch compiles a match expression once and says what it needs of
// the request body, so the body is parsed only for rules that name it, and
// only as far as they look.
func compileMatch(src string) (prog *vm.Program, body bodyUse, err error) {
	opts := append([]expr.Option{expr.Env(matchEnv{}), expr.AsBool(), expr.MaxNodes(maxMatchNodes)}, disabledBuiltins()...)
	prog, err = expr.Compile(src, opts...)
	if err != nil {
		return nil, body, err
	}
	if err := checkBudget(src); err != nil {
		return nil, body, err
	}
	body.scan(prog.Node())
	return prog, body, nil
}

// evaluator runs match expressions against one request at a time; the
// proxy keeps one per in-flight request, so it is not safe for concurrent
// use. The body is parsed at most once, on the first rule that needs it.
type evaluator struct {
	env        matchEnv
	vm         vm.VM
	req        *Request
	body       *bodyUse // what the rules in use need of the body
	bodyParsed bool
	endpoint   bool           // env.Endpoint is filled in
	fields     map[string]any // reused for the body's fields (see bodyUse.parse)
}

func newEvaluator() *evaluator {
	e := &evaluator{fields: map[string]any{}}
	e.env.Header = e.header // bound once, not per request
	// The VM fails when it has built this many elements (it stops at >=).
	e.vm.MemoryBudget = maxBuilt + 1
	return e
}

// release lets go of the request, so a pooled evaluator does not keep its
// body or header alive.
func (e *evaluator) release() { e.req = nil }

func (e *evaluator) reset(r *Request, elapsed time.Duration, body *bodyUse) {
	e.req, e.body = r, body
	e.env.Method, e.env.Path = r.Method, r.Path
	e.env.Attempt, e.env.EventID = r.Attempt, r.EventID
	e.env.Elapsed = elapsed
	e.env.Endpoint, e.endpoint = endpointEnv{}, false
	e.env.Body, e.bodyParsed = nil, false
}

func (e *evaluator) header(name string) string { return e.req.HeaderValue(name) }

func (e *evaluator) match(r *Rule) (bool, error) {
	if r.match == nil {
		return true, nil
	}
	if r.body.endpoint && !e.endpoint {
		e.env.Endpoint.Name, e.env.Endpoint.Group = FleetEndpoint(e.req.Path)
		e.endpoint = true
	}
	if r.body.any && !e.bodyParsed {
		e.env.Body, e.bodyParsed = e.body.parse(e.req.Body, e.fields), true
	}
	out, err := e.vm.Run(r.match, &e.env)
	if err != nil {
		if strings.Contains(err.Error(), "memory budget exceeded") {
			return false, fmt.Errorf("rule %q: match: over the rule budget of %d elements built per request: %w", r.spec.Name, maxBuilt, err)
		}
		return false, fmt.Errorf("rule %q: match: %w", r.spec.Name, err)
	}
	return out == true, nil
}
