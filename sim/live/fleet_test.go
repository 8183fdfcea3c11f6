package live_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/hookrig/hookrig/sim/internal/simtest"
	"github.com/hookrig/hookrig/sim/live"
	"github.com/hookrig/hookrig/sim/verdict"
)

// fleetHead is 100 events over 1 s, fast retries, no breaker.
const fleetHead = `
sender:
  policy:
    backoff: {base: 10ms, factor: 2, cap: 40ms}
    max_attempts: 8
    breaker: {failures: 0}
load:
  phases:
    - {name: load, pacer: constant:100, duration: 1s}
`

// sickGroup is a fleet group of count endpoints whose every first attempt
// is answered 503.
func sickGroup(count int) string {
	return fmt.Sprintf(`  - name: sick
    count: %d
    faults:
      - {name: first-fails, match: attempt == 1, fault: {type: status, code: 503}}
`, count)
}

func groupsOf(t *testing.T, res *verdict.Result) map[string]verdict.GroupResult {
	t.Helper()
	if res.Endpoints == nil {
		t.Fatal("the result has no endpoints section")
	}
	m := map[string]verdict.GroupResult{}
	for _, g := range res.Endpoints.Groups {
		m[g.Name] = g
	}
	return m
}

// A fleet of 30 endpoints in three groups: the sick group's fault (every
// first attempt 503) hits only the sick group's endpoints, the limited
// group's rate limit only its own; every group's figures add up to the
// run's.
func TestFleetGroupScopedFault(t *testing.T) {
	t.Parallel()
	s := simtest.Parse(t, "fleet", fleetHead+`
endpoints:
  - {name: healthy, count: 20}
`+sickGroup(6)+`  - name: limited
    count: 4
    rate_limit: {per_second: 1000, burst: 1000}
# keep_faults: a first attempt sent after the load's last second still
# fails, so the sick group's amplification is exactly 2.
drain: {timeout: 20s, keep_faults: true}
assertions:
  - lost == 0
  - groups.healthy.amplification == 1.0
  - groups.sick.amplification == 2.0
  - groups.limited.lost == 0
`)
	res := run(t, s, live.Options{})
	for _, a := range res.Assertions {
		if !a.Passed {
			t.Errorf("%s: %s", a.Expr, a.Message)
		}
	}
	g := groupsOf(t, res)
	h, sick, lim := g["healthy"], g["sick"], g["limited"]
	if len(g) != 3 || h.Endpoints != 20 || sick.Endpoints != 6 || lim.Endpoints != 4 || !sick.Sick || h.Sick || !lim.Sick {
		t.Fatalf("groups = %+v", res.Endpoints.Groups)
	}
	if sum := h.Accepted + sick.Accepted + lim.Accepted; sum != res.Events.Accepted || sum != 100 {
		t.Errorf("the groups accepted %d, the run %d (want 100)", sum, res.Events.Accepted)
	}
	// Weights default to the counts: 20:6:4 of 100 events, to within a
	// few (plan.Fleet spreads groups by a low-discrepancy sequence).
	for name, want := range map[string]int64{"healthy": 67, "sick": 20, "limited": 13} {
		if got := g[name].Accepted; got < want-3 || got > want+3 {
			t.Errorf("group %s got %d events, want about %d", name, got, want)
		}
	}
	if h.Attempts != h.Accepted || h.Failed != 0 || sick.Attempts != 2*sick.Accepted || sick.Failed != sick.Accepted {
		t.Errorf("healthy %d attempts (%d failed) for %d events; sick %d (%d failed) for %d: the fault must hit the sick group only",
			h.Attempts, h.Failed, h.Accepted, sick.Attempts, sick.Failed, sick.Accepted)
	}
	if res.Attempts.Faulted != sick.Accepted {
		t.Errorf("%d attempts met a fault, want the sick group's %d first attempts", res.Attempts.Faulted, sick.Accepted)
	}
	for _, gr := range res.Endpoints.Groups {
		if gr.Delivered != gr.Accepted || gr.Latency.Count != gr.Delivered {
			t.Errorf("group %s: %d of %d delivered (latency over %d)", gr.Name, gr.Delivered, gr.Accepted, gr.Latency.Count)
		}
	}
	if res.Isolation == nil || res.Isolation.Baseline {
		t.Errorf("isolation = %+v: a figure without a baseline (none was asked for)", res.Isolation)
	}
}

// A group's rate limit is served by the reference receiver as 429 with
// Retry-After: the sender slows down and loses nothing, and the healthy
// group is untouched.
func TestFleetRateLimit(t *testing.T) {
	t.Parallel()
	s := simtest.Parse(t, "fleet-limit", fleetHead+`
endpoints:
  - {name: healthy, count: 4, weight: 3}
  - name: limited
    count: 2
    weight: 1
    rate_limit: {per_second: 8, burst: 2, retry_after: 1s}
drain: {timeout: 30s}
`)
	res := run(t, s, live.Options{})
	g := groupsOf(t, res)
	h, lim := g["healthy"], g["limited"]
	if res.Events.Lost != 0 || res.Events.Pending != 0 || lim.Delivered != lim.Accepted || h.Delivered != h.Accepted {
		t.Fatalf("events %+v; groups %+v", res.Events, res.Endpoints.Groups)
	}
	// About 12 events a second to each of two endpoints limited to 8 (2
	// at once) for a second: some attempts are answered 429, only on the
	// limited group.
	if lim.Failed == 0 || h.Failed != 0 || h.Attempts != h.Accepted {
		t.Errorf("limited: %d of %d attempts refused; healthy: %d of %d", lim.Failed, lim.Attempts, h.Failed, h.Attempts)
	}
	if res.Endpoint.Answered == 0 || !strings.Contains(causes(res), "429") {
		t.Errorf("the endpoint's failures %+v do not show 429s", res.Endpoint.Failures)
	}
}

func causes(res *verdict.Result) string {
	var b strings.Builder
	for _, f := range res.Endpoint.Failures {
		b.WriteString(f.Cause + " ")
	}
	return b.String()
}

// The user's endpoints in a fleet: a URL template on one host. The proxy
// strips the fleet prefix, so each endpoint sees its own path, and the
// receipts are what the proxy saw them answer.
func TestFleetUserEndpoints(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	paths := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths[r.URL.Path]++
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	s := simtest.Parse(t, "fleet-user", fleetHead+`
endpoints:
  - {name: a, count: 3, receiver: {url: "`+srv.URL+`/hooks/a{{.N}}"}}
  - {name: b, count: 2, receiver: {url: "`+srv.URL+`/hooks/{{.Name}}"}}
drain: {timeout: 20s}
`)
	res := run(t, s, live.Options{})
	g := groupsOf(t, res)
	if res.Events.Delivered != 100 || g["a"].Delivered+g["b"].Delivered != 100 {
		t.Fatalf("events %+v, groups %+v", res.Events, res.Endpoints.Groups)
	}
	mu.Lock()
	defer mu.Unlock()
	total := 0
	for p, n := range paths {
		total += n
		switch p {
		case "/hooks/a1", "/hooks/a2", "/hooks/a3", "/hooks/b-1", "/hooks/b-2":
		default:
			t.Errorf("the endpoints were sent %d requests at %s", n, p)
		}
	}
	if len(paths) != 5 || total != 100 {
		t.Errorf("paths %v: want 100 requests over the 5 endpoints' own paths", paths)
	}
}

// --isolation (Options.Isolation) runs the scenario again with the sick
// group healed and fills the isolation figure.
func TestFleetIsolationBaseline(t *testing.T) {
	t.Parallel()
	s := simtest.Parse(t, "fleet-iso", fleetHead+`
endpoints:
  - {name: healthy, count: 6}
`+sickGroup(2)+`drain: {timeout: 20s}
`)
	res := run(t, s, live.Options{Isolation: true})
	iso := res.Isolation
	if iso == nil || !iso.Baseline || iso.BaselineP99Ms <= 0 || iso.P99Ms <= 0 || iso.Ratio <= 0 {
		t.Fatalf("isolation = %+v", iso)
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), "isolation baseline") {
		t.Errorf("notes %q do not say where the baseline came from", res.Notes)
	}
}
