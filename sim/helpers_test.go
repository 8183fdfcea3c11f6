package sim_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim/verdict"
)

// quick is the head the sweep scenarios share: exactly 40 events, fast
// retries, no breaker.
const quick = `
sender:
  policy:
    backoff: {base: 10ms, factor: 2, cap: 40ms}
    max_attempts: 5
    breaker: {failures: 0}
load:
  phases:
    - {name: load, pacer: constant:40, duration: 1s}
`

func parse(t *testing.T, name, body string) *scenarios.Scenario {
	t.Helper()
	s, err := scenarios.Parse([]byte("name: "+name+"\n"+body), name+".yaml")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func builtinScenario(t *testing.T, name string) *scenarios.Scenario {
	t.Helper()
	s, err := scenarios.Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// want compares named counts and reports every mismatch.
func want(t *testing.T, res *verdict.Result, counts map[string][2]int64) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		if c := counts[k]; c[0] != c[1] {
			t.Errorf("%s = %d, want %d", k, c[0], c[1])
		}
	}
	if t.Failed() {
		t.Logf("events %+v attempts %+v receipts %+v notes %v", res.Events, res.Attempts, res.Receipts, res.Notes)
	}
}
