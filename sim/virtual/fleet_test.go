package virtual_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/hookrig/hookrig/sim"
	"github.com/hookrig/hookrig/sim/plan"
	"github.com/hookrig/hookrig/sim/verdict"
	"github.com/hookrig/hookrig/sim/virtual"
)

// Fleets in virtual time: many endpoints in groups of different health,
// each event to the endpoint sim/plan gives it, every endpoint with its
// own breaker, window, pause and rate (the live sender's delivery code).

func group(t *testing.T, r *verdict.Result, name string) verdict.GroupResult {
	t.Helper()
	if r.Endpoints == nil {
		t.Fatalf("result has no fleet groups")
	}
	for _, g := range r.Endpoints.Groups {
		if g.Name == name {
			return g
		}
	}
	t.Fatalf("result has no group %q", name)
	return verdict.GroupResult{}
}

// The noisy neighbour of the issue: 5 of 20 endpoints accept connections
// and never answer, each attempt holding a worker for the 15 s timeout.
// The healthy endpoints' delivery p99 must stay within 2× of their p99
// with the silent group healed (the isolation baseline sim measures
// alongside).
func TestFleetSilentGroupDoesNotDelayHealthy(t *testing.T) {
	s := yamlScenario(t, `
name: noisy
seed: 3
load:
  phases:
    - {name: mix, pacer: constant:400, duration: 12s}
endpoints:
  - name: healthy
    count: 15
  - name: silent
    count: 5
    faults:
      - name: silent
        fault: {type: blackhole}
drain:
  timeout: 30s
`)
	r := simulate(t, s)
	healthy, silent := group(t, r, "healthy"), group(t, r, "silent")
	if healthy.Accepted < 3000 || silent.Accepted < 900 {
		t.Fatalf("accepted %d healthy, %d silent: the load should split 3:1 over 4800 events", healthy.Accepted, silent.Accepted)
	}
	if healthy.Delivered != healthy.Accepted {
		t.Errorf("healthy: %d of %d delivered", healthy.Delivered, healthy.Accepted)
	}
	// The silent endpoints did hold the sender: their events waited out
	// attempt timeouts (15 s) before the drain healed them.
	if silent.Latency.P50 < 5000 {
		t.Errorf("silent group's p50 %.1f ms: its attempts should have been held for the attempt timeout", silent.Latency.P50)
	}
	iso := r.Isolation
	if iso == nil || !iso.Baseline || iso.BaselineP99Ms <= 0 {
		t.Fatalf("no isolation baseline: %+v", iso)
	}
	if iso.Ratio > 2 {
		t.Errorf("healthy p99 %.3f ms is %.2f× its baseline %.3f ms: the silent group took their capacity", iso.P99Ms, iso.Ratio, iso.BaselineP99Ms)
	}
	if iso.P99Ms != healthy.Latency.P99 {
		t.Errorf("isolation p99 %.3f ms is not the healthy group's p99 %.3f ms", iso.P99Ms, healthy.Latency.P99)
	}
}

// The rate limiter of the issue: 3,000 events posted at 1,000/s to an
// endpoint limited to 300 requests a second (429, Retry-After: 1).
// Throttling the endpoint, not each event, keeps attempts near one per
// event; nothing is lost.
func TestFleetRateLimitedGroupIsThrottled(t *testing.T) {
	s := yamlScenario(t, `
name: limited
seed: 3
load:
  phases:
    - {name: burst, pacer: constant:1000, duration: 3s}
endpoints:
  - name: ok
    count: 4
    weight: 1
  - name: limited
    count: 1
    weight: 9
    rate_limit: {per_second: 300, retry_after: 1s}
drain:
  timeout: 60s
`)
	r := simulate(t, s)
	g := group(t, r, "limited")
	if g.Accepted < 2500 {
		t.Fatalf("limited group accepted %d events; expected about 2,700", g.Accepted)
	}
	if g.Lost != 0 || g.Pending != 0 || g.DeadLettered != 0 || g.Delivered != g.Accepted {
		t.Errorf("limited group: %+v; every event should be delivered", g)
	}
	if g.Amplification > 1.5 {
		t.Errorf("limited group: %d attempts for %d events (%.2f×): the endpoint was not throttled", g.Attempts, g.Accepted, g.Amplification)
	}
	if g.Attempts == g.Accepted {
		t.Errorf("limited group: no attempt was refused: the limit never bound, the test tests nothing")
	}
	// It took the limiter's time: 2,700 events at 300/s.
	if g.Latency.Max < 5000 {
		t.Errorf("limited group's slowest delivery %.0f ms: 2,700 events at 300/s take about 9 s", g.Latency.Max)
	}
}

// A 410 disables the endpoint that answered it, and only that one: the
// other endpoints keep taking events.
func TestFleetGoneDisablesOnlyItsEndpoint(t *testing.T) {
	s := yamlScenario(t, `
name: gone
seed: 1
load:
  phases:
    - {name: day, pacer: constant:100, duration: 20s}
endpoints:
  - name: healthy
    count: 10
  - name: gone
    count: 2
    faults:
      - name: gone
        fault: {type: status, code: 410}
        after: 5s
drain:
  timeout: 20s
`)
	r := simulate(t, s)
	healthy, gone := group(t, r, "healthy"), group(t, r, "gone")
	if healthy.Delivered != healthy.Accepted || healthy.DeadLettered != 0 {
		t.Errorf("healthy: %+v", healthy)
	}
	if gone.DeadLettered == 0 || r.Load.Rejected == 0 {
		t.Errorf("gone: %d dead-lettered, %d events refused: its endpoints should be disabled", gone.DeadLettered, r.Load.Rejected)
	}
	// Every refused event was for a gone endpoint: the healthy group got
	// every event the plan sent it.
	fleet := plan.NewFleet(s)
	var want int64
	for k := range uint64(r.Load.Sent) {
		if fleet.Assign(k).Group == "healthy" {
			want++
		}
	}
	if healthy.Accepted != want {
		t.Errorf("healthy accepted %d events, the plan sent it %d: a healthy endpoint was disabled", healthy.Accepted, want)
	}
}

// A fleet run is a function of its scenario and seed: the same seed gives
// the same JSON, byte for byte; another seed spreads the events otherwise.
func TestFleetDeterministicBySeed(t *testing.T) {
	const src = `
name: mixed
seed: 7
load:
  phases:
    - {name: mix, pacer: constant:300, duration: 10s}
spread: zipf:1.2
endpoints:
  - name: healthy
    count: 40
  - name: flaky
    count: 10
    faults:
      - name: flaky
        probability: 0.3
        fault: {type: status, code: 503}
  - name: slow
    count: 5
    faults:
      - name: slow
        fault: {type: latency, distribution: uniform, min: 100ms, max: 2s}
drain:
  timeout: 60s
`
	run := func(seed uint64) []byte {
		s := yamlScenario(t, src)
		s.Seed = seed
		r, _, err := sim.RunVirtual(context.Background(), s, virtual.Options{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b, c := run(7), run(7), run(8)
	if !bytes.Equal(a, b) {
		t.Errorf("two runs with seed 7 differ")
	}
	if bytes.Equal(a, c) {
		t.Errorf("seeds 7 and 8 gave the same result")
	}
}
