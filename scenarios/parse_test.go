package scenarios

import (
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

const good = `name: flaky
description: |
  Some deliveries fail.
seed: 7
sender:
  workers: 8
  crashes:
    - at: 3s
      down: 1s
receiver:
  processing:
    duration: 2ms
    failure_ratio: 0.1
load:
  keys: 4
  phases:
    - name: warm
      pacer: constant:10
      duration: 2s
    - name: main
      pacer: constant:50
      start: 3s
      duration: 5s
faults:
  - name: flaky
    probability: 0.3
    fault: {type: status, code: 503}
    after: 1s
    for: 4s
drain:
  timeout: 10s
assertions:
  - lost == 0
  - delivery.p99 < duration("30s")
`

func TestParseGood(t *testing.T) {
	s, err := Parse([]byte(good), "flaky.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "flaky" || s.Seed != 7 || s.Sender.Workers != 8 || s.Load.Keys != 4 {
		t.Fatalf("parsed %+v", s)
	}
	if got := s.Load.Phases[1]; got.Start != 3*time.Second || got.End() != 8*time.Second || got.Pacer != "constant:50" {
		t.Fatalf("phase 2 = %+v", got)
	}
	if s.LoadEnd() != 8*time.Second || s.Drain.Timeout != 10*time.Second {
		t.Fatalf("load end %s, drain %s", s.LoadEnd(), s.Drain.Timeout)
	}
	if len(s.Faults) != 1 || s.Faults[0].After != time.Second || s.Faults[0].For != 4*time.Second {
		t.Fatalf("faults = %+v", s.Faults)
	}
	if !strings.Contains(string(s.Faults[0].Spec), `"code":503`) {
		t.Fatalf("fault spec = %s", s.Faults[0].Spec)
	}
	if s.Receiver.Processing.Duration != 2*time.Millisecond || s.Receiver.Processing.FailureRatio != 0.1 {
		t.Fatalf("processing = %+v", s.Receiver.Processing)
	}
	if len(s.Sender.Crashes) != 1 || s.Sender.Crashes[0] != (Crash{At: 3 * time.Second, Down: time.Second}) {
		t.Fatalf("crashes = %+v", s.Sender.Crashes)
	}
	if len(s.Assertions) != 2 {
		t.Fatalf("assertions = %+v", s.Assertions)
	}
}

// Each bad file must be refused with the right position and a message
// that says what was expected.
// scheme and id_from are read, the scheme's name in lower case; a file
// without them leaves both to the runner.
func TestParseScheme(t *testing.T) {
	const load = "load:\n  phases:\n    - {pacer: constant:1, duration: 1s}\n"
	s, err := Parse([]byte("name: a\nscheme: Stripe\nid_from: json:data.hookrig_id\n"+load), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Scheme != "stripe" || s.IDFrom.String() != "json:data.hookrig_id" {
		t.Errorf("scheme %q, id_from %s", s.Scheme, s.IDFrom)
	}
	s, err = Parse([]byte("name: a\n"+load), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Scheme != "" || !s.IDFrom.IsNone() {
		t.Errorf("no scheme written: got scheme %q, id_from %s", s.Scheme, s.IDFrom)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want string // "line:col: fragment"
	}{
		{"unknown top key", "name: a\nlaod:\n  phases: []\n", "2:1: unknown field \"laod\""},
		{"unknown nested key", "name: a\nload:\n  phases:\n    - pacer: constant:1\n      duraton: 1s\n", "5:7: unknown field \"duraton\""},
		{"wrong type", "name: a\nseed: lots\nload:\n  phases:\n    - {pacer: constant:1, duration: 1s}\n", "2:7: seed: got a string, expected a whole number (0 or more)"},
		{"bad duration", "name: a\nload:\n  phases:\n    - pacer: constant:1\n      duration: ten seconds\n", "5:17: load.phases[0].duration: invalid duration \"ten seconds\"; expected a duration such as"},
		{"negative duration", "name: a\nload:\n  phases:\n    - pacer: constant:1\n      duration: -5s\n", "5:17: load.phases[0] (phase-1).duration: -5s is not a positive duration"},
		{"missing pacer", "name: a\nload:\n  phases:\n    - duration: 1s\n", "4:17: load.phases[0] (phase-1): missing pacer"},
		// Found by FuzzParse: empty list items have no node of their own
		// (errors go to the item's dash), and a tag where a list belongs made
		// go-yaml panic (yamlnode turns that into an error here).
		{"empty phase", "name: a\nload:\n  phases:\n  -\n", "4:3: load.phases[0] (phase-1): missing pacer"},
		{"empty fault", "name: a\nload:\n  phases:\n    - {pacer: constant:1, duration: 1s}\nfaults:\n  -\n", "6:3: faults[0]: empty; expected a rule mapping"},
		{"empty assertion", "name: a\nload:\n  phases:\n    - {pacer: constant:1, duration: 1s}\nassertions:\n  -\n", "6:3: empty assertion"},
		{"tag for a list", "name: a\nload:\n  phases:\n    - {pacer: constant:1, duration: 1s}\nassertions:\n  ! 0000\n", "6:3: unreadable YAML here"},
		{"crash after the load", "name: a\nsender:\n  crashes:\n    - {at: 5s, down: 1s}\nload:\n  phases:\n    - {pacer: constant:1, duration: 1s}\n", "4:12: sender crash at 5s is after the load ends"},
		{"missing load", "name: a\n", "1:1: missing load.phases"},
		{"missing name", "load:\n  phases:\n    - {pacer: constant:1, duration: 1s}\n", "missing name"},
		{"overlapping phases", "name: a\nload:\n  phases:\n    - {pacer: constant:1, duration: 5s}\n    - pacer: constant:2\n      start: 2s\n      duration: 1s\n", "6:14: load.phases[1] (phase-2): starts at 2s, inside the previous phase"},
		{"bad assertion", "name: a\nload:\n  phases:\n    - {pacer: constant:1, duration: 1s}\nassertions:\n  - lots == 0\n", "6:5: assertion \"lots == 0\": unknown name lots"},
		{"non-boolean assertion", "name: a\nload:\n  phases:\n    - {pacer: constant:1, duration: 1s}\nassertions:\n  - lost + 1\n", "assertion \"lost + 1\""},
		{"now() disabled", "name: a\nload:\n  phases:\n    - {pacer: constant:1, duration: 1s}\nassertions:\n  - now() != nil\n", "assertion \"now() != nil\""},
		{"ratio out of range", "name: a\nreceiver:\n  processing:\n    failure_ratio: 1.5\nload:\n  phases:\n    - {pacer: constant:1, duration: 1s}\n", "4:20: receiver.processing.failure_ratio: 1.5; expected a number from 0 to 1"},
		{"bad receiver url", "name: a\nreceiver:\n  url: ftp://x\nload:\n  phases:\n    - {pacer: constant:1, duration: 1s}\n", "3:8: receiver.url: \"ftp://x\" is not an http:// or https:// URL"},
		{"fault after the run", "name: a\nload:\n  phases:\n    - {pacer: constant:1, duration: 1s}\nfaults:\n  - name: late\n    fault: {type: status, code: 503}\n    after: 1h\n", "6:5: faults[0] (late): starts at 1h0m0s, after the run ends"},
		{"fault without name", "name: a\nload:\n  phases:\n    - {pacer: constant:1, duration: 1s}\nfaults:\n  - fault: {type: status, code: 503}\n", "6:5: fault rule #1 (faults[0]) has no name: every rule needs name: <word>"},
		{"unknown scheme", "name: a\nscheme: gitlab\nload:\n  phases:\n    - {pacer: constant:1, duration: 1s}\n", "2:9: scheme: unknown signature scheme \"gitlab\"; expected one of convoy, convoy-simple, github, shopify, slack, standard, stripe, svix"},
		{"bad id_from", "name: a\nid_from: body:id\nload:\n  phases:\n    - {pacer: constant:1, duration: 1s}\n", "2:10: id_from: id source \"body:id\": want header:NAME"},
		{"yaml syntax", "name: a\nload: [\n", "2:"},
		{"empty", "", "empty scenario"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.yaml), "x.yaml")
			if err == nil {
				t.Fatal("no error")
			}
			want := c.want
			if want[0] >= '0' && want[0] <= '9' {
				want = "x.yaml:" + want
			}
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error:\n%v\nwant it to contain %q", err, c.want)
			}
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("want Errors, got %T", err)
			}
		})
	}
}

// Several problems in one file are all reported, in file order.
func TestParseReportsEveryError(t *testing.T) {
	src := "name: a\nload:\n  phases:\n    - {pacer: constant:1, duration: -1s}\n    - {pacer: constant:1, duration: 0s}\nassertions:\n  - nope\n"
	_, err := Parse([]byte(src), "x.yaml")
	var es Errors
	if !errors.As(err, &es) || len(es) != 3 {
		t.Fatalf("want 3 errors, got %v", err)
	}
	if es[0].Pos.Line != 4 || es[1].Pos.Line != 5 || es[2].Pos.Line != 7 {
		t.Fatalf("positions: %v", err)
	}
}

func TestAssertionsCheck(t *testing.T) {
	s, err := Parse([]byte(good), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	env := Env{Accepted: 10, Delivered: 10}
	env.Delivery.P99 = 2 * time.Second
	for _, o := range s.Check(env) {
		if !o.Passed {
			t.Errorf("%s failed: %s", o.Expr, o.Message)
		}
	}
	env.Lost = 2
	env.Delivery.P99 = time.Minute
	out := s.Check(env)
	if out[0].Passed || out[0].Message != "false: lost = 2" {
		t.Errorf("lost == 0 with lost=2: %+v", out[0])
	}
	if out[1].Passed || !strings.Contains(out[1].Message, "delivery.p99 = 1m0s") {
		t.Errorf("p99 assertion: %+v", out[1])
	}
	a, err := newAssertion("attempts.per_event.max <= 8 && duplicated_ratio < 0.01")
	if err != nil {
		t.Fatal(err)
	}
	env.Attempts.PerEvent.Max = 9
	if o := a.Check(env); o.Passed || !strings.Contains(o.Message, "attempts.per_event.max = 9") {
		t.Errorf("got %+v", o)
	}
}

// The README table (Variables) and the Env type must list the same names.
func TestVariablesMatchEnv(t *testing.T) {
	var fromEnv []string
	var walk func(reflect.Type, string)
	walk = func(t reflect.Type, prefix string) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := prefix + f.Tag.Get("expr")
			if f.Type.Kind() == reflect.Map { // groups.NAME.…
				walk(f.Type.Elem(), name+".NAME.")
				continue
			}
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)) {
				walk(f.Type, name+".")
				continue
			}
			fromEnv = append(fromEnv, name)
		}
	}
	walk(reflect.TypeOf(Env{}), "")
	var documented []string
	for _, v := range Variables() {
		documented = append(documented, v.Name)
		if _, err := newAssertion(v.Name + " == " + v.Name); err != nil {
			t.Errorf("documented variable %s does not compile: %v", v.Name, err)
		}
	}
	sort.Strings(fromEnv)
	sort.Strings(documented)
	if !reflect.DeepEqual(fromEnv, documented) {
		t.Fatalf("Env has %v\nVariables() has %v", fromEnv, documented)
	}
}

func TestPolicyOverrides(t *testing.T) {
	src := "name: a\nsender:\n  policy:\n    max_attempts: 3\n    backoff: {base: 100ms, factor: 2, cap: 1s}\nload:\n  phases:\n    - {pacer: constant:1, duration: 1s}\n"
	s, err := Parse([]byte(src), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if p := s.Sender.Policy; p == nil || p.MaxAttempts != 3 || p.Backoff.Base != 100*time.Millisecond || p.AttemptTimeout == 0 {
		t.Fatalf("policy = %+v (want overrides on top of the defaults)", p)
	}
	bad := "name: a\nsender:\n  policy:\n    max_atempts: 3\nload:\n  phases:\n    - {pacer: constant:1, duration: 1s}\n"
	if _, err := Parse([]byte(bad), "x.yaml"); err == nil || !strings.Contains(err.Error(), "x.yaml:4:5: sender.policy:") || !strings.Contains(err.Error(), "max_atempts") {
		t.Fatalf("got %v", err)
	}
}

// Pacers and rules are checked by loadgen and chaos, at the right place.
func TestDelegatedChecks(t *testing.T) {
	head := "name: a\nload:\n  phases:\n    - {pacer: constant:1, duration: 1s}\n"
	cases := []struct{ yaml, want string }{
		{"name: a\nload:\n  phases:\n    - pacer: wobble:5\n      duration: 1s\n", "x.yaml:4:14: load.phases[0] (phase-1): "},
		{"name: a\nload:\n  phases:\n    - pacer: constant:-5\n      duration: 1s\n", "x.yaml:4:14: load.phases[0] (phase-1): "},
		{head + "faults:\n  - name: f\n    fault: {type: explode}\n", "x.yaml:6:5: faults[0] (f): "},
		{head + "faults:\n  - name: f\n    probability: 1.5\n    fault: {type: status, code: 503}\n", "x.yaml:6:5: faults[0] (f): "},
		{head + "faults:\n  - name: f\n    match: 'method ==== 1'\n    fault: {type: status, code: 503}\n", "x.yaml:7:5: faults[0] (f): match: "},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.yaml), "x.yaml")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\ngot %v\nwant %q", c.yaml, err, c.want)
		}
	}
}
