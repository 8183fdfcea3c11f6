package virtual_test

import "testing"

// Many silent endpoints against 64 workers, as in a fleet of 100,000:
// 400 endpoints that accept connections and never answer, each seeing
// an event every few minutes, beside 20 healthy ones. With an even split
// alone each silent endpoint with a retry due takes at least one worker,
// and about a hundred of them have one at any time: they hold every
// worker for the attempt timeout and the healthy wait behind them until
// their breakers open (20 failures each, many minutes at one attempt
// per endpoint per round of timeouts). Suspect endpoints share a quarter
// of the workers (delivery.Split): the healthy group's p99 stays within
// 2x its healed baseline, and the silent endpoints are still tried.
func TestFleetManySilentEndpointsShareABudget(t *testing.T) {
	s := yamlScenario(t, `
name: many-silent
seed: 5
sender:
  policy:
    attempt_timeout: 5s
    backoff: {base: 200ms, factor: 2, cap: 2s}
load:
  phases:
    - {name: mix, pacer: constant:50, duration: 10m}
endpoints:
  - name: healthy
    count: 20
    weight: 49
  - name: silent
    count: 400
    weight: 1
    faults:
      - name: silent
        fault: {type: blackhole}
drain:
  timeout: 2m
`)
	r := simulate(t, s)
	healthy, silent := group(t, r, "healthy"), group(t, r, "silent")
	if healthy.Accepted < 28000 || silent.Accepted < 400 {
		t.Fatalf("accepted %d healthy, %d silent: the load should split 49:1 over 30,000 events", healthy.Accepted, silent.Accepted)
	}
	if healthy.Delivered != healthy.Accepted {
		t.Errorf("healthy: %d of %d delivered", healthy.Delivered, healthy.Accepted)
	}
	// The silent endpoints did hold workers: their events waited out
	// attempt timeouts, and were retried.
	if silent.Latency.P50 < 5000 {
		t.Errorf("silent group's p50 %.1f ms: its attempts should have been held for the attempt timeout", silent.Latency.P50)
	}
	if silent.Attempts < 3*silent.Accepted {
		t.Errorf("silent group: %d attempts for %d events: hardly retried, the test tests nothing", silent.Attempts, silent.Accepted)
	}
	iso := r.Isolation
	if iso == nil || !iso.Baseline || iso.BaselineP99Ms <= 0 {
		t.Fatalf("no isolation baseline: %+v", iso)
	}
	if iso.Ratio > 2 {
		t.Errorf("healthy p99 %.3f ms is %.2fx its baseline %.3f ms: the silent endpoints took their workers", iso.P99Ms, iso.Ratio, iso.BaselineP99Ms)
	}
	t.Logf("healthy p99 %.3f ms, baseline %.3f ms (%.2fx); silent p50 %.0f ms, %d attempts for %d events",
		iso.P99Ms, iso.BaselineP99Ms, iso.Ratio, silent.Latency.P50, silent.Attempts, silent.Accepted)
}
