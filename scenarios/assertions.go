package scenarios

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// Env is everything an assertion can read: the run's result under stable
// names (the README's table lists them all). It lives here, not in sim, so
// a scenario's assertions are compiled and type-checked before anything
// starts; sim fills one in after the drain.
type Env struct {
	Accepted            int `expr:"accepted"`
	Delivered           int `expr:"delivered"`
	Lost                int `expr:"lost"`
	Duplicated          int `expr:"duplicated"`
	DuplicateDeliveries int `expr:"duplicate_deliveries"`
	DeadLettered        int `expr:"dead_lettered"`
	Pending             int `expr:"pending"`
	Unexpected          int `expr:"unexpected"`
	Reordered           int `expr:"reordered"`
	// DeadLetteredReceived are dead-lettered events that did arrive (their
	// acknowledgements were lost): a replay would deliver them again.
	DeadLetteredReceived int `expr:"dead_lettered_received"`

	// Ratios are over accepted events (0 when nothing was accepted).
	DeliveredRatio    float64 `expr:"delivered_ratio"`
	LostRatio         float64 `expr:"lost_ratio"`
	DuplicatedRatio   float64 `expr:"duplicated_ratio"`
	DeadLetteredRatio float64 `expr:"dead_lettered_ratio"`

	Delivery Latency  `expr:"delivery"`
	Attempts Attempts `expr:"attempts"`
	Herd     Herd     `expr:"herd"`
	Faults   Faults   `expr:"faults"`
	Load     LoadEnv  `expr:"load"`
	Ordering Ordering `expr:"ordering"`
	Endpoint Endpoint `expr:"endpoint"`

	// Groups are a fleet's figures per group, by group name
	// (groups.healthy.lost); empty without `endpoints:`.
	Groups map[string]GroupEnv `expr:"groups"`
	// Isolation compares the healthy groups' delivery p99 with their p99
	// when the sick groups are removed (no value until that baseline is
	// measured).
	Isolation Isolation `expr:"isolation"`
}

// GroupEnv is one fleet group's figures, under the top level's names.
type GroupEnv struct {
	Accepted      int     `expr:"accepted"`
	Delivered     int     `expr:"delivered"`
	Lost          int     `expr:"lost"`
	DeadLettered  int     `expr:"dead_lettered"`
	Pending       int     `expr:"pending"`
	Attempts      int     `expr:"attempts"`
	Amplification float64 `expr:"amplification"`
	Latency       Latency `expr:"latency"`
	// Herd is the group's busiest second of attempts after a fault window
	// that touched it closed, and that over its rate before.
	Herd Herd `expr:"herd"`
}

// Isolation is how much the sick groups cost the healthy ones.
type Isolation struct {
	// P99 is the healthy groups' delivery p99 in this run; BaselineP99
	// theirs in the same run with the sick groups healed (their faults and
	// rate limits dropped); Ratio P99 / BaselineP99.
	P99         time.Duration `expr:"p99"`
	BaselineP99 time.Duration `expr:"baseline_p99"`
	Ratio       float64       `expr:"ratio"`
}

// Endpoint is how the receiving endpoint answered the requests it was
// sent, the faults injected in front of it aside.
type Endpoint struct {
	Attempts int `expr:"attempts"`
	Answered int `expr:"answered"`
	Failed   int `expr:"failed"`
	// FailedRatio is Failed / Attempts (no value when Attempts is 0).
	FailedRatio float64 `expr:"failed_ratio"`
	// Response is the time to answer (no value when nothing was answered).
	Response Latency `expr:"response"`
}

// Ordering is how far receipt order strayed from acceptance order, per
// ordering key.
type Ordering struct {
	Keys             int `expr:"keys"`
	KeysReordered    int `expr:"keys_reordered"`
	EventsOutOfOrder int `expr:"events_out_of_order"`
}

// Latency is time from acceptance to the first acknowledged receipt.
type Latency struct {
	P50  time.Duration `expr:"p50"`
	P90  time.Duration `expr:"p90"`
	P99  time.Duration `expr:"p99"`
	Max  time.Duration `expr:"max"`
	Mean time.Duration `expr:"mean"`
}

// Attempts counts delivery attempts.
type Attempts struct {
	Total    int          `expr:"total"`
	PerEvent Distribution `expr:"per_event"`
	// Amplification is attempts per accepted event (1.0: no retries).
	Amplification float64 `expr:"amplification"`
}

// Distribution summarises a per-event count.
type Distribution struct {
	Mean float64 `expr:"mean"`
	P50  int     `expr:"p50"`
	P99  int     `expr:"p99"`
	Max  int     `expr:"max"`
}

// Herd measures the retry storm after fault windows close.
type Herd struct {
	// PeakRate is the highest attempts/s in the seconds after any fault
	// window closed.
	PeakRate float64 `expr:"peak_rate"`
	// Ratio is PeakRate over the attempt rate before the window opened.
	Ratio float64 `expr:"ratio"`
}

// Faults counts what the chaos proxy injected.
type Faults struct {
	Injected int `expr:"injected"`
}

// LoadEnv is what the load generator saw at the sender's ingest.
type LoadEnv struct {
	Sent     int `expr:"sent"`
	Rejected int `expr:"rejected"`
}

// maxAssertionNodes bounds an assertion's size: they are meant to be one
// line each, and a bound keeps a hostile file from compiling for ever.
const maxAssertionNodes = 500

type program = vm.Program

func compileAssertion(src string) (*program, error) {
	return expr.Compile(src,
		expr.Env(Env{}),
		expr.AsBool(),
		// now() would make a run's verdict depend on the wall clock.
		expr.DisableBuiltin("now"),
		expr.MaxNodes(maxAssertionNodes),
	)
}

// assertionError places an expr compile error inside the YAML file: the
// expression starts at p, so a column inside it adds to p's column.
func assertionError(p Pos, src string, err error) *Error {
	var fe *file.Error
	if errors.As(err, &fe) {
		msg := strings.TrimSpace(fe.Message)
		if fe.Line <= 1 {
			p.Col += fe.Column
		}
		return errorAt(p, "assertion %q: %s (assertions are boolean expressions over the result, e.g. lost == 0; see the README for every variable)", src, msg)
	}
	return errorAt(p, "assertion %q: %v", src, err)
}

// Outcome is one assertion's verdict.
type Outcome struct {
	Expr    string
	Passed  bool
	Message string
}

// Check evaluates every assertion against env.
func (s *Scenario) Check(env Env) []Outcome {
	out := make([]Outcome, 0, len(s.Assertions))
	for _, a := range s.Assertions {
		out = append(out, a.Check(env))
	}
	return out
}

// Check evaluates one assertion.
func (a Assertion) Check(env Env) Outcome {
	o := Outcome{Expr: a.Expr}
	prog := a.program
	if prog == nil { // built by hand rather than parsed
		var err error
		if prog, err = compileAssertion(a.Expr); err != nil {
			o.Message = err.Error()
			return o
		}
	}
	v, err := expr.Run(prog, env)
	if err != nil {
		o.Message = fmt.Sprintf("evaluation failed: %v", err)
		return o
	}
	o.Passed, _ = v.(bool)
	if !o.Passed {
		o.Message = "false" + explain(a.Expr, env)
	}
	return o
}

// explain lists the values of the variables an expression mentions, so a
// failed assertion says what the numbers were.
func explain(src string, env Env) string {
	known := map[string]bool{}
	for _, v := range Variables() {
		known[v.Name] = true
	}
	seen := map[string]bool{}
	var parts []string
	for _, name := range identifier.FindAllString(src, -1) {
		if !known[name] && !known[groupPattern(name)] || seen[name] {
			continue
		}
		seen[name] = true
		if val, err := expr.Eval(name, env); err == nil {
			parts = append(parts, fmt.Sprintf("%s = %v", name, val))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, ", ")
}

// Variables lists the result variables the assertion reads (Variables'
// names), each once, in the order they first appear.
func (a Assertion) Variables() []string {
	known := map[string]bool{}
	for _, v := range Variables() {
		known[v.Name] = true
	}
	var out []string
	for _, name := range identifier.FindAllString(a.Expr, -1) {
		if known[name] && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// groupPattern is a group variable's documented name: groups.healthy.lost
// is groups.NAME.lost.
func groupPattern(name string) string {
	rest, ok := strings.CutPrefix(name, "groups.")
	if !ok {
		return ""
	}
	_, field, ok := strings.Cut(rest, ".")
	if !ok {
		return ""
	}
	return "groups.NAME." + field
}

// identifier matches a (dotted) variable name in an expression.
var identifier = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*`)

// newAssertion compiles one expression (for the Go API and flags).
func newAssertion(src string) (Assertion, error) {
	prog, err := compileAssertion(src)
	if err != nil {
		return Assertion{}, assertionError(Pos{}, src, err)
	}
	return Assertion{Expr: src, program: prog}, nil
}
