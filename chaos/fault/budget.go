package fault

import (
	"errors"
	"fmt"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// A match runs on every request the proxy reads, so its cost must be
// bounded by its text and the request's size, never by what it computes:
// `let r = 1..100000; all(r, {all(r, {# > 0})})` would otherwise spin for
// hours per request. expr has no step counter, so the bound is structural,
// checked when the rule is compiled, plus expr's memory budget at run
// time:
//
//   - at most maxMatchNodes nodes (expr.MaxNodes);
//   - predicates (all, any, filter, count, ...) do not nest, so a match
//     walks each collection at most once per predicate it names;
//   - no variables (let): without them the expression is a tree, and no
//     value can be built from copies of itself (a chain of
//     `let b = a + a` doubles a string per line);
//   - a constant range has at most maxBuilt elements, and at run time the
//     VM's memory budget stops any evaluation that builds more than
//     maxBuilt elements (ranges, arrays, maps, sort, concat, ...) with an
//     error: a range drawn from the request (1..attempt) cannot grow
//     either;
//   - the builtins that make a value much larger than their arguments, or
//     keep one new value per element, are refused: repeat, replace (with
//     an empty pattern it multiplies the length), reduce (its accumulator
//     can double at every step), map; and now, which would read the wall
//     clock (time comes in as elapsed).
//
// A match that breaks a rule above is refused with the limit it broke; one
// that goes over the memory budget at run time fails closed: no fault, a
// rule error in the proxy's stats.
const (
	// maxMatchNodes bounds an expression's size: a match is a short
	// predicate, and a runaway one (generated, pasted) should fail at
	// load, not slow every request.
	maxMatchNodes = 500
	// maxPredicateDepth is how deeply predicates may nest.
	maxPredicateDepth = 1
	// maxBuilt bounds the elements one evaluation may build.
	maxBuilt = 10_000
)

// disabledBuiltins are the expr builtins a match may not call (see
// above). expr parses its predicates (map, reduce, all, ...) whatever is
// disabled, so checkBudget refuses refusedPredicates itself.
func disabledBuiltins() []expr.Option {
	return []expr.Option{
		expr.DisableBuiltin("now"),
		expr.DisableBuiltin("repeat"),
		expr.DisableBuiltin("replace"),
	}
}

// refusedPredicate says why a predicate builtin is refused, "" if it is
// allowed.
func refusedPredicate(name string) string {
	switch name {
	case "map":
		return "map is not allowed (it keeps a new value per element; a match needs any, all, filter or count)"
	case "reduce":
		return "reduce is not allowed (its accumulator can double at every step)"
	}
	return ""
}

// checkBudget finds what in src (which expr compiled) breaks the
// structural rules above, naming each limit, in one line.
func checkBudget(src string) error {
	tree, err := parser.Parse(src)
	if err != nil {
		return err // expr.Compile accepted src, so this does not happen
	}
	var over []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			over = append(over, s)
		}
	}
	ast.Walk(&tree.Node, visitorFunc(func(n *ast.Node) {
		switch v := (*n).(type) {
		case *ast.BinaryNode:
			if v.Operator != ".." {
				return
			}
			lo, okLo := constInt(v.Left)
			hi, okHi := constInt(v.Right)
			if okLo && okHi && hi >= lo && uint64(hi-lo) >= maxBuilt {
				add(fmt.Sprintf("range %d..%d has %d elements, over the limit of %d", lo, hi, uint64(hi-lo)+1, maxBuilt))
			}
		case *ast.PredicateNode:
			if depth := predicateDepth(v); depth > maxPredicateDepth {
				add(fmt.Sprintf("predicates nest %d deep, over the limit of %d (a predicate inside all/any/filter/... walks a collection once per element of the outer one)", depth, maxPredicateDepth))
			}
		case *ast.BuiltinNode:
			if why := refusedPredicate(v.Name); why != "" {
				add(why)
			}
		case *ast.VariableDeclaratorNode:
			add(fmt.Sprintf("variable %q: let is not allowed (a match is one predicate; variables let a value be built from copies of itself)", v.Name))
		}
	}))
	if len(over) > 0 {
		return errors.New("over the rule budget: " + strings.Join(over, "; "))
	}
	return nil
}

// predicateDepth is how many predicates nest from p down (1 for a
// predicate with none inside).
func predicateDepth(p *ast.PredicateNode) int {
	inner := 0
	ast.Walk(&p.Node, visitorFunc(func(n *ast.Node) {
		if q, ok := (*n).(*ast.PredicateNode); ok {
			inner = max(inner, predicateDepth(q))
		}
	}))
	return 1 + inner
}

// constInt is the value of an integer literal, negated or not.
func constInt(n ast.Node) (int, bool) {
	switch v := n.(type) {
	case *ast.IntegerNode:
		return v.Value, true
	case *ast.UnaryNode:
		if i, ok := v.Node.(*ast.IntegerNode); ok && v.Operator == "-" {
			return -i.Value, true
		}
	}
	return 0, false
}
