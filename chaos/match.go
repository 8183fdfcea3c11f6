package chaos

import (
	"fmt"
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
}

// maxMatchNodes bounds an expression's size: a match is a short predicate,
// and a runaway one (generated, pasted) should fail at load, not slow
// every request.
const maxMatchNodes = 500

// compileMatch compiles a match expression once and says what it needs of
// the request body, so the body is parsed only for rules that name it, and
// only as far as they look.
func compileMatch(src string) (prog *vm.Program, body bodyUse, err error) {
	prog, err = expr.Compile(src,
		expr.Env(matchEnv{}),
		expr.AsBool(),
		// now() would make a rule's result depend on the wall clock; time
		// comes in as elapsed.
		expr.DisableBuiltin("now"),
		expr.MaxNodes(maxMatchNodes),
	)
	if err != nil {
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
	fields     map[string]any // reused for the body's fields (see bodyUse.parse)
}

func newEvaluator() *evaluator {
	e := &evaluator{fields: map[string]any{}}
	e.env.Header = e.header // bound once, not per request
	return e
}

func (e *evaluator) reset(r *Request, elapsed time.Duration, body *bodyUse) {
	e.req, e.body = r, body
	e.env.Method, e.env.Path = r.Method, r.Path
	e.env.Attempt, e.env.EventID = r.Attempt, r.EventID
	e.env.Elapsed = elapsed
	e.env.Body, e.bodyParsed = nil, false
}

func (e *evaluator) header(name string) string { return e.req.HeaderValue(name) }

func (e *evaluator) match(r *Rule) (bool, error) {
	if r.match == nil {
		return true, nil
	}
	if r.body.any && !e.bodyParsed {
		e.env.Body, e.bodyParsed = e.body.parse(e.req.Body, e.fields), true
	}
	out, err := e.vm.Run(r.match, &e.env)
	if err != nil {
		return false, fmt.Errorf("rule %q: match: %w", r.spec.Name, err)
	}
	return out == true, nil
}
