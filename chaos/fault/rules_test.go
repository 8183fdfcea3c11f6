package fault

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustRules(t testing.TB, src string) *Rules {
	t.Helper()
	specs, err := ParseRules([]byte(src), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Compile(specs)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func post(path string, h map[string]string, body string) Request {
	hh := http.Header{}
	for k, v := range h {
		hh.Set(k, v)
	}
	return newRequest("POST", path, hh, []byte(body))
}

func TestParseRulesYAMLAndJSON(t *testing.T) {
	yamlSrc := `
rules:
  - name: flaky
    match: method == "POST"
    probability: 0.3
    fault: {type: status, code: 503, headers: {Retry-After: 1}}
    after: 10s
    for: 30s
`
	jsonSrc := `{"rules": [{"name": "flaky", "match": "method == \"POST\"", "probability": 0.3,
	  "fault": {"type": "status", "code": 503, "headers": {"Retry-After": "1"}}, "after": "10s", "for": "30s"}]}`
	for _, src := range []string{yamlSrc, jsonSrc} {
		specs, err := ParseRules([]byte(src), "r")
		if err != nil {
			t.Fatal(err)
		}
		if len(specs) != 1 {
			t.Fatalf("got %d rules", len(specs))
		}
		s := specs[0]
		if s.Name != "flaky" || *s.Probability != 0.3 || s.After.D() != 10*time.Second || s.For.D() != 30*time.Second || s.Match != `method == "POST"` {
			t.Errorf("spec %+v", s)
		}
		rs, err := Compile(specs)
		if err != nil {
			t.Fatal(err)
		}
		a := rs.List()[0].Fault().Plan(nil)
		if a.Answer != AnswerRespond || a.Response.Status != 503 || a.Response.Header.Get("Retry-After") != "1" || a.Forward != 0 {
			t.Errorf("plan %+v", a)
		}
	}
}

func TestParseRulesErrorsHavePositions(t *testing.T) {
	cases := []struct{ src, want string }{
		{"rules:\n  - name: a\n    mtach: x\n", `r.yaml:3:5: rule "a": unknown field "mtach"`},
		{"rules:\n  - name: a\n   bad: [\n", "r.yaml:3:4:"},
		{"rules:\n  - name: a\n    fault: {type: status, code: 503}\n    after: 10 parsecs\n", `r.yaml:4:12: rule "a": after: bad duration "10 parsecs"`},
		{"rules:\n  - name: a\n    fault: {type: status}\n    for: -5s\n", `r.yaml:4:10: rule "a": for: bad duration "-5s": must not be negative`},
		{"rules:\n  - name: a\n    probability: lots\n", `r.yaml:3:18: rule "a"`},
		{"rules: 5\n", "r.yaml:1:8: rules: want a list"},
		{"rulez: []\n", `r.yaml:1:1: unknown field "rulez"`},
		{"", "r.yaml: empty"},
		{"rules:\n  - 5\n", "r.yaml:2:5: rules[0]: want a rule object"},
	}
	for _, c := range cases {
		_, err := ParseRules([]byte(c.src), "r.yaml")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.src, err, c.want)
		}
	}
}

// Each bad rule is rejected with an error that names it (and where it is).
func TestCompileRejectsBadRules(t *testing.T) {
	cases := []struct{ name, rule, want string }{
		{"unknown fault", `{name: r1, fault: {type: explode}}`, `unknown fault type "explode" (known: ack_lost, blackhole,`},
		{"missing fault", `{name: r1}`, "missing fault"},
		{"fault without type", `{name: r1, fault: {code: 503}}`, "missing type"},
		{"bad expression", `{name: r1, match: 'method == "POST" &&', fault: {type: reset}}`, "match: unexpected token EOF (1:19)"},
		{"unknown name in expression", `{name: r1, match: 'methd == "POST"', fault: {type: reset}}`, "match: unknown name methd (1:1)"},
		{"expression not bool", `{name: r1, match: 'attempt + 1', fault: {type: reset}}`, "expected bool"},
		{"now() disabled", `{name: r1, match: 'now() > 0', fault: {type: reset}}`, "unknown name now"},
		{"negative probability", `{name: r1, probability: -0.1, fault: {type: reset}}`, "probability must be between 0 and 1, got -0.1"},
		{"probability over 1", `{name: r1, probability: 1.5, fault: {type: reset}}`, "probability must be between 0 and 1, got 1.5"},
		{"bad fault duration", `{name: r1, fault: {type: latency, delay: 3 seconds}}`, `bad duration "3 seconds"`},
		{"status without code", `{name: r1, fault: {type: status}}`, "code must be an HTTP status from 200 to 599, got 0"},
		{"unknown fault param", `{name: r1, fault: {type: status, cod: 503}}`, `unknown field "cod"`},
		{"mistyped fault param", `{name: r1, fault: {type: status, code: "503"}}`, "field code: got JSON string, expected int"},
		{"latency without delay", `{name: r1, fault: {type: latency}}`, `missing "delay"`},
		{"bad distribution", `{name: r1, fault: {type: latency, distribution: gamma}}`, `unknown distribution "gamma"`},
		{"uniform min >= max", `{name: r1, fault: {type: reorder, distribution: uniform, min: 2s, max: 1s}}`, "uniform needs max > min"},
		{"slow_body without rate", `{name: r1, fault: {type: slow_body}}`, "rate must be a positive number"},
		{"too many copies", `{name: r1, fault: {type: duplicate, copies: 1000}}`, "copies must be from 2 to 100"},
		{"bad reset when", `{name: r1, fault: {type: reset, when: during}}`, `when must be "before" or "after"`},
		{"bad ack_lost answer", `{name: r1, fault: {type: ack_lost, answer: maybe}}`, `answer must be "status", "reset" or "timeout"`},
		{"down with match", `{name: r1, match: 'attempt == 1', fault: {type: down}}`, "a down rule refuses connections before any request is read"},
		{"missing name", `{fault: {type: reset}}`, "rules[0]: missing name"},
		{"bad name", `{name: "a b", fault: {type: reset}}`, `name "a b": use letters`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			specs, err := ParseRules([]byte("rules:\n  - "+c.rule+"\n"), "r.yaml")
			if err == nil {
				_, err = Compile(specs)
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %q, want it to contain %q", err, c.want)
			}
			if c.name != "missing name" && !strings.Contains(err.Error(), `rule "r1"`) && !strings.Contains(err.Error(), `rule "a b"`) {
				t.Errorf("error %q does not name the rule", err)
			}
			if !strings.HasPrefix(err.Error(), "r.yaml:2:") {
				t.Errorf("error %q does not say where the rule is", err)
			}
		})
	}
}

func TestCompileReportsEveryBadRuleAndDuplicates(t *testing.T) {
	_, err := Compile([]RuleSpec{
		{Name: "ok", Fault: json.RawMessage(`{"type":"reset"}`)},
		{Name: "bad1", Fault: json.RawMessage(`{"type":"nope"}`)},
		{Name: "ok", Fault: json.RawMessage(`{"type":"reset"}`)},
		{Name: "bad2", Match: "(", Fault: json.RawMessage(`{"type":"reset"}`)},
	})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{`rule "bad1": unknown fault type`, `rule "ok": duplicate rule name`, `rule "bad2": match:`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
}

// The README promises: first matching rule that fires wins.
func TestChooseFirstMatchingRuleThatFiresWins(t *testing.T) {
	rs := mustRules(t, `
rules:
  - name: never-fires
    match: path == "/a"
    probability: 0
    fault: {type: status, code: 500}
  - name: a
    match: path == "/a"
    fault: {type: status, code: 501}
  - name: everything
    fault: {type: status, code: 502}
`)
	rnd := rand.New(rand.NewPCG(1, 2))
	if _, r := rs.Choose(post("/a", nil, ""), 0, rnd); r == nil || r.Name() != "a" {
		t.Errorf("/a chose %v, want rule a", r)
	}
	if _, r := rs.Choose(post("/b", nil, ""), 0, rnd); r == nil || r.Name() != "everything" {
		t.Errorf("/b chose %v, want everything", r)
	}
	if f, r := (*Rules)(nil).Choose(post("/b", nil, ""), 0, rnd); f != nil || r != nil {
		t.Error("nil rules chose a fault")
	}
}

func TestChooseEnvironment(t *testing.T) {
	req := post("/hooks/stripe", map[string]string{
		"webhook-id": "evt_1", "webhook-attempt": "3", "X-Tenant": "acme",
	}, `{"type": "invoice.paid", "data": {"amount": 4200}}`)
	cases := []struct {
		match   string
		elapsed time.Duration
		want    bool
	}{
		{`method == "POST" && path startsWith "/hooks/"`, 0, true},
		{`header("x-tenant") == "acme"`, 0, true},
		{`header("X-Missing") == ""`, 0, true},
		{`attempt == 3 && event_id == "evt_1"`, 0, true},
		{`attempt < 3`, 0, false},
		{`body.type == "invoice.paid" && body.data.amount > 4000`, 0, true},
		{`body.type == "customer.created"`, 0, false},
		{`elapsed >= duration("10s")`, 10 * time.Second, true},
		{`elapsed >= duration("10s")`, 9 * time.Second, false},
		{`body.nope.deeper == 1`, 0, false}, // run-time error: no match
	}
	for _, c := range cases {
		rs, err := Compile([]RuleSpec{{Name: "r", Match: c.match, Fault: json.RawMessage(`{"type":"reset"}`)}})
		if err != nil {
			t.Fatalf("%s: %v", c.match, err)
		}
		_, r := rs.Choose(req, c.elapsed, rand.New(rand.NewPCG(1, 1)))
		if (r != nil) != c.want {
			t.Errorf("%s at %v: matched %v, want %v", c.match, c.elapsed, r != nil, c.want)
		}
	}
}

// The body is parsed only when a rule that names it is evaluated.
func TestBodyParsedOnlyWhenNeeded(t *testing.T) {
	rs := mustRules(t, `
rules:
  - name: by-header
    match: header("x-a") == "1"
    fault: {type: reset}
  - name: by-body
    match: body.type == "x"
    fault: {type: reset}
`)
	ev := newEvaluator()
	req := post("/", map[string]string{"x-a": "1"}, `{"type": "x"}`)
	r := rs.choose(ev, &req, 0, rand.New(rand.NewPCG(1, 1)), nil)
	if r.Name() != "by-header" || ev.bodyParsed {
		t.Errorf("chose %s, body parsed %v: want by-header without parsing", r.Name(), ev.bodyParsed)
	}
	req = post("/", nil, `{"type": "x"}`)
	r = rs.choose(ev, &req, 0, rand.New(rand.NewPCG(1, 1)), nil)
	if r.Name() != "by-body" || !ev.bodyParsed {
		t.Errorf("chose %s, body parsed %v", r.Name(), ev.bodyParsed)
	}
	if rs.List()[0].body.any || !rs.List()[1].body.any {
		t.Error("body use detection is wrong")
	}
}

func TestWindows(t *testing.T) {
	rs := mustRules(t, `
rules:
  - name: w
    fault: {type: reset}
    after: 10s
    for: 5s
  - name: from-20s
    fault: {type: reset}
    after: 20s
`)
	for _, c := range []struct {
		at   time.Duration
		want string
	}{{0, ""}, {9999 * time.Millisecond, ""}, {10 * time.Second, "w"}, {14 * time.Second, "w"}, {15 * time.Second, ""}, {20 * time.Second, "from-20s"}, {time.Hour, "from-20s"}} {
		_, r := rs.Choose(post("/", nil, ""), c.at, rand.New(rand.NewPCG(1, 1)))
		got := ""
		if r != nil {
			got = r.Name()
		}
		if got != c.want {
			t.Errorf("at %v chose %q, want %q", c.at, got, c.want)
		}
	}
}

func TestDownIsChosenAndScheduled(t *testing.T) {
	rs := mustRules(t, `
rules:
  - name: off
    fault: {type: down}
    after: 1s
    for: 2s
`)
	a, r := rs.Act(post("/", nil, ""), 2*time.Second, rand.New(rand.NewPCG(1, 1)))
	if r == nil || a.Answer != AnswerRefuse || a.Forward != 0 {
		t.Errorf("during the window: %+v from %v", a, r)
	}
	if a, _ := rs.Act(post("/", nil, ""), 3*time.Second, rand.New(rand.NewPCG(1, 1))); a.Answer != AnswerUpstream {
		t.Errorf("after the window: %+v", a)
	}
	if rs.DownAt(999*time.Millisecond) || !rs.DownAt(time.Second) || rs.DownAt(3*time.Second) {
		t.Error("DownAt is wrong")
	}
	for _, c := range []struct{ at, next time.Duration }{{0, time.Second}, {time.Second, 3 * time.Second}, {2 * time.Second, 3 * time.Second}} {
		if n, ok := rs.NextDownChange(c.at); !ok || n != c.next {
			t.Errorf("NextDownChange(%v) = %v %v, want %v", c.at, n, ok, c.next)
		}
	}
	if _, ok := rs.NextDownChange(3 * time.Second); ok {
		t.Error("a change after the last window")
	}
}

// 10,000 requests at probability 0.3 inject 30% ± 1.5%, whichever way
// the draws are derived.
func TestProbabilityHonesty(t *testing.T) {
	rs := mustRules(t, "rules:\n  - {name: p, probability: 0.3, fault: {type: status, code: 503}}\n")
	for _, withID := range []bool{true, false} {
		hits := 0
		const n = 10000
		for i := range n {
			req := post("/", nil, "")
			if withID {
				req.EventID, req.Attempt = fmt.Sprintf("evt_%d", i), 1+i%3
			}
			if f, _ := rs.Choose(req, 0, RequestRand(42, req, uint64(i+1))); f != nil {
				hits++
			}
		}
		if got := float64(hits) / n; got < 0.285 || got > 0.315 {
			t.Errorf("withID=%v: %.2f%% injected, want 30%% ± 1.5%%", withID, 100*got)
		}
	}
}

type decision struct {
	Rule   string
	Action Action
}

func decide(rs *Rules, seed uint64, reqs []Request) []decision {
	out := make([]decision, len(reqs))
	for i, r := range reqs {
		a, rule := rs.Act(r, time.Duration(i)*time.Millisecond, RequestRand(seed, r, uint64(i+1)))
		out[i].Action = a
		if rule != nil {
			out[i].Rule = rule.Name()
		}
	}
	return out
}

// The same seed and request sequence give the same faults; the draws for a
// webhook's attempt do not depend on when it arrives.
func TestDeterminism(t *testing.T) {
	rs := mustRules(t, `
rules:
  - name: slow
    probability: 0.3
    fault: {type: latency, distribution: lognormal, median: 100ms, sigma: 0.8}
  - name: flaky
    match: attempt < 3
    probability: 0.4
    fault: {type: status, code: 503}
  - name: dup
    probability: 0.2
    fault: {type: duplicate, copies: 3, gap: 10ms}
`)
	var reqs []Request
	for i := range 300 {
		h := map[string]string{}
		if i%4 != 0 {
			h["webhook-id"] = fmt.Sprintf("evt_%d", i/3)
			h["webhook-attempt"] = fmt.Sprint(1 + i%3)
		}
		reqs = append(reqs, post("/", h, ""))
	}
	a, b := decide(rs, 7, reqs), decide(rs, 7, reqs)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed and requests, different faults")
	}
	faulted := 0
	for _, d := range a {
		if d.Rule != "" {
			faulted++
		}
	}
	if faulted < 100 || faulted == len(a) {
		t.Fatalf("%d of %d faulted: the rules are not exercising the draws", faulted, len(a))
	}
	if reflect.DeepEqual(a, decide(rs, 8, reqs)) {
		t.Error("a different seed gave the same faults")
	}
	// Reverse the order: requests with id+attempt keep their fault.
	rev := make([]Request, len(reqs))
	for i := range reqs {
		rev[len(reqs)-1-i] = reqs[i]
	}
	rs2 := mustRules(t, "rules:\n  - {name: flaky, probability: 0.5, fault: {type: latency, distribution: uniform, min: 0s, max: 1s}}\n")
	fwd, bwd := decide(rs2, 7, reqs), decide(rs2, 7, rev)
	for i := range reqs {
		if reqs[i].EventID != "" && !reflect.DeepEqual(fwd[i], bwd[len(reqs)-1-i]) {
			t.Fatalf("request %d (%s/%d) faulted differently when it arrived at another position", i, reqs[i].EventID, reqs[i].Attempt)
		}
	}
}
