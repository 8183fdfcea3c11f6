// Package simtest holds the helpers the tests of sim and its packages
// share (their tests live in separate packages so that go test runs them
// in parallel): scenarios from YAML or the built-ins, a result's JSON,
// and a table of counts compared at once.
package simtest

import (
	"bytes"
	"maps"
	"slices"
	"testing"

	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim/report"
	"github.com/hookrig/hookrig/sim/verdict"
)

// Quick is the head every known-answer scenario shares: exactly 40
// events, fast retries, no breaker.
const Quick = `
sender:
  policy:
    backoff: {base: 10ms, factor: 2, cap: 40ms}
    max_attempts: 5
    breaker: {failures: 0}
load:
  phases:
    - {name: load, pacer: constant:40, duration: 1s}
`

// Parse parses a scenario named name from body (YAML without the name).
func Parse(t testing.TB, name, body string) *scenarios.Scenario {
	t.Helper()
	s, err := scenarios.Parse([]byte("name: "+name+"\n"+body), name+".yaml")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Builtin is the built-in scenario called name.
func Builtin(t testing.TB, name string) *scenarios.Scenario {
	t.Helper()
	s, err := scenarios.Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// JSON renders r as the JSON report: what "the same JSON" means.
func JSON(t testing.TB, r *verdict.Result) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := report.WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Want compares named counts, {got, want}, and reports every mismatch
// with the result's figures for context.
func Want(t testing.TB, res *verdict.Result, counts map[string][2]int64) {
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

// CheckAccount checks the invariants of one account of the run: every
// accepted event in exactly one category, at least one attempt behind
// every delivery, and the per-event attempt counts adding up to the
// total.
func CheckAccount(t testing.TB, r *verdict.Result) {
	t.Helper()
	e := r.Events
	if sum := e.Delivered + e.Lost + e.DeadLettered + e.Pending; sum != e.Accepted {
		t.Errorf("accepted %d != delivered %d + lost %d + dead_lettered %d + pending %d", e.Accepted, e.Delivered, e.Lost, e.DeadLettered, e.Pending)
	}
	if r.Attempts.Total < e.Delivered {
		t.Errorf("attempts.total %d < delivered %d: a delivery with no attempt behind it", r.Attempts.Total, e.Delivered)
	}
	var events, attempts, attempted int64
	for _, c := range r.Attempts.PerEvent.Counts {
		events += c[1]
		attempts += c[0] * c[1]
		if c[0] > 0 {
			attempted += c[1]
		}
	}
	if events != e.Accepted || attempts != r.Attempts.Total {
		t.Errorf("per-event attempt lists cover %d events and %d attempts; want %d and attempts.total %d", events, attempts, e.Accepted, r.Attempts.Total)
	}
	if attempted < e.Delivered {
		t.Errorf("%d events were attempted but %d delivered", attempted, e.Delivered)
	}
	if r.Endpoint.Attempts > r.Attempts.Total+r.Attempts.Unmatched {
		t.Errorf("endpoint.attempts %d > attempts %d", r.Endpoint.Attempts, r.Attempts.Total+r.Attempts.Unmatched)
	}
}
