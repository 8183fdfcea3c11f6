package fault

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// spin is issue 17's rule: accepted before the budget, it kept a core busy
// for as long as the process lived.
const spin = `let r = 1..100000; path == "/spin" && all(r, {all(r, {# > 0})})`

func compileOne(match string) error {
	specs, err := ParseRules([]byte("rules:\n  - name: r1\n    match: '"+match+"'\n    fault: {type: status, code: 418}\n"), "r.yaml")
	if err != nil {
		return err
	}
	_, err = Compile(specs)
	return err
}

func TestRuleBudgetRefusesTheSpinningRule(t *testing.T) {
	err := compileOne(spin)
	if err == nil {
		t.Fatal("the spinning rule compiled")
	}
	msg := err.Error()
	for _, want := range []string{`r.yaml:2:5: rule "r1": match: over the rule budget:`, "range 1..100000 has 100000 elements, over the limit of 10000", "predicates nest 2 deep, over the limit of 1", `variable "r": let is not allowed`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error %q: want one line", msg)
	}
}

// Each limit on its own, and what stays allowed right at it.
func TestRuleBudgetLimits(t *testing.T) {
	cases := []struct{ name, match, want string }{
		{"nodes", strings.Repeat("attempt == 1 || ", 200) + "false", "exceeds maximum allowed nodes"},
		{"nested predicates", `any(body.items, {any(body.items, {# == 1})})`, "predicates nest 2 deep"},
		{"let", `let t = path; t == "/a"`, `variable "t": let is not allowed`},
		{"range", `all(1..10001, {# > 0})`, "range 1..10001 has 10001 elements, over the limit of 10000"},
		{"negative range", `any(-10000..1, {# == attempt})`, "range -10000..1 has 10002 elements"},
		{"repeat", `repeat(path, 1000000) != ""`, "unknown name repeat"},
		{"replace", `replace(path, "", path) != ""`, "unknown name replace"},
		{"reduce", `reduce(1..3, #acc + #acc, "x") != ""`, "reduce is not allowed"},
		{"map", `len(map(1..3, {path})) > 0`, "map is not allowed"},
		{"range at the limit", `all(1..10000, {# > 0})`, ""},
		{"one level of predicates", `any(body.items, {# == 1}) && all(1..3, {# > 0})`, ""},
		{"small range", `attempt in 1..3`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := compileOne(c.match)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && err == nil:
				t.Fatal("accepted")
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Errorf("got %q, want it to contain %q", err, c.want)
			}
		})
	}
}

// A range drawn from the request cannot be checked at compile: the VM's
// budget stops it, and the rule fails closed (no fault) with an error the
// proxy counts.
func TestRuleBudgetAtRunTimeFailsClosed(t *testing.T) {
	rs := mustRules(t, `rules: [{name: counted, match: 'len(1..attempt) > 1', fault: {type: status, code: 418}}]`)
	d := NewDecider(1)
	var errs []error
	d.Seen = func(_ *Rule, err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	over := post("/", map[string]string{"webhook-id": "evt_1", "webhook-attempt": "2000000000"}, "")
	if act, rule := d.Act(rs, &over, 1, time.Second); rule != nil || act.Answer != AnswerUpstream || act.Forward != 1 {
		t.Fatalf("over the budget: rule %v fired, action %+v; want no fault", rule, act)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), `rule "counted": match: over the rule budget of 10000 elements built per request`) {
		t.Fatalf("rule errors %v: want one naming the budget", errs)
	}
	within := post("/", map[string]string{"webhook-id": "evt_1", "webhook-attempt": "10000"}, "")
	if _, rule := d.Act(rs, &within, 2, time.Second); rule == nil || len(errs) != 1 {
		t.Fatalf("at the budget: rule %v, errors %v; want the rule to fire", rule, errors.Join(errs...))
	}
}
