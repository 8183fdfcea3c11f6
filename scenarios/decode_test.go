package scenarios

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// Every problem in a file is found, structural ones included, and listed
// in file order.
func TestParseListsEveryProblemInFileOrder(t *testing.T) {
	src := `name: several
sedd: 3
load:
  keys: many
  phases:
    - pacer: constant:10
      duraton: 2s
    - pacer: constant:10
      duration: ten
drain: 30s
faults: {name: x}
assertions:
  - lots == 0
`
	_, err := Parse([]byte(src), "s.yaml")
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error %v, want Errors", err)
	}
	want := []string{
		`s.yaml:2:1: unknown field "sedd" in the scenario`,
		`s.yaml:4:9: load.keys: got a string, expected a whole number`,
		`s.yaml:6:14: load.phases[0] (phase-1): missing duration`,
		`s.yaml:7:7: unknown field "duraton" in load.phases[0]`,
		`s.yaml:9:17: load.phases[1].duration: invalid duration "ten"`,
		`s.yaml:10:8: drain: got the string "30s", expected a mapping (timeout, keep_faults, allow_pending)`,
		`s.yaml:11:10: faults: got a mapping, expected a list`,
		`s.yaml:13:5: assertion "lots == 0"`,
	}
	if len(es) != len(want) {
		t.Errorf("%d problems, want %d:\n%v", len(es), len(want), err)
	}
	for i, w := range want {
		if i < len(es) && !strings.HasPrefix(es[i].Error(), w) {
			t.Errorf("problem %d: %q, want it to start %q", i+1, es[i].Error(), w)
		}
	}
}

// Anchors, aliases and merge keys read as go-yaml reads them (a key
// written after a merge overrides the merged one); a key written twice is
// a problem.
func TestParseAnchorsAndRepeatedKeys(t *testing.T) {
	s, err := Parse([]byte(`name: anchors
load:
  phases:
    - &phase {pacer: constant:10, duration: 2s}
    - <<: *phase
      duration: 3s
drain: &drain
  timeout: 5s
`), "a.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Load.Phases) != 2 || s.Load.Phases[1].Pacer != "constant:10" || s.Load.Phases[1].Duration != 3*time.Second || s.Drain.Timeout != 5*time.Second {
		t.Errorf("phases %+v, drain %+v", s.Load.Phases, s.Drain)
	}
	_, err = Parse([]byte("name: twice\nname: again\nload:\n  phases:\n    - {pacer: constant:1, duration: 1s}\n"), "t.yaml")
	if err == nil || !strings.Contains(err.Error(), "t.yaml:2:1: name is written twice in this mapping (first at line 1); keep one") {
		t.Errorf("error %v", err)
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"name", "pacer", "start", "duration"}
	for in, want := range map[string]string{"duraton": "duration", "pacre": "pacer", "Name": "name", "payload": ""} {
		got := suggest(in, keys)
		if (want == "") != (got == "") || want != "" && !strings.Contains(got, `"`+want+`"`) {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

// What chaos and the sender say about a rule or a policy is put at the key
// it is about, without JSON positions or Go type names.
func TestSubtreeErrorsNameTheKey(t *testing.T) {
	head := "name: a\nload:\n  phases:\n    - {pacer: constant:1, duration: 1s}\n"
	cases := []struct{ yaml, want string }{
		{head + "sender:\n  policy:\n    max_attempts: lots\n", `x.yaml:7:5: sender.policy: max_attempts: got a string, expected a whole number`},
		{head + "sender:\n  policy:\n    backoff: {base: ten}\n", `x.yaml:7:15: sender.policy: backoff.base: "ten" is not a duration`},
		{head + "faults:\n  - name: f\n    probabilty: 0.5\n    fault: {type: status, code: 503}\n", `x.yaml:7:5: faults[0] (f): unknown field "probabilty"`},
		{head + "faults:\n  - name: f\n    probability: high\n    fault: {type: status, code: 503}\n", `x.yaml:7:5: faults[0] (f): probability: got a string, expected a number`},
		{head + "faults:\n  - name: f\n    fault: {type: status, code: abc}\n", `x.yaml:7:27: faults[0] (f): fault status: field code: got a string, expected a whole number`},
		{head + "faults:\n  - name: f\n    after: soon\n    fault: {type: status, code: 503}\n", `x.yaml:7:5: faults[0] (f): after: bad duration "soon"`},
		{head + "faults:\n  - 5\n", `x.yaml:6:5: faults[0]: got 5, expected a rule mapping (name, match, probability, fault, after, for)`},
		{head + "faults:\n  - {name: 5, fault: {type: drop}}\n", `x.yaml:6:6: fault rule #1 (faults[0]): name: got 5, expected a word`},
		{head + "faults:\n  - {name: a, fault: {type: status, code: 503}}\n  - {name: b, fault: {type: status, code: 503}}\n  - fault: {type: status, code: 503}\n",
			`x.yaml:8:5: fault rule #3 (faults[2]) has no name: every rule needs name: <word>, e.g. name: flaky-503`},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.yaml), "x.yaml")
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "json") || strings.Contains(err.Error(), "Go ") {
			t.Errorf("%q:\ngot  %v\nwant %q", c.yaml, err, c.want)
		}
	}
}

// The YAML parser's and decoder's complaints say what to do.
func TestYAMLMessagesSayWhatIsExpected(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"name: a\nname: b\n", "x.yaml:2:1: name is written twice in this mapping (first at line 1); keep one"},
		{"name: a\nload:\n\t- x\n", "x.yaml:3:1: a tab: YAML indents with spaces only"},
		{"name: a\n  bad: 1\n", "check this line's indentation"},
		{"name: a\nsender:\n  workers: [1]\n", "x.yaml:3:12: sender.workers: got a list, expected a whole number"},
		{"name: a\nload:\n  payload_bytes: 1.5\n", "x.yaml:3:18: load.payload_bytes: got 1.5, expected a whole number"},
		{"name: a\ndrain:\n  timeout: {s: 1}\n", "x.yaml:3:13: drain.timeout: got a mapping, expected a duration such as 250ms"},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.yaml), "x.yaml")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\ngot  %v\nwant %q", c.yaml, err, c.want)
		}
	}
}
