package sender

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/internal/metrics/metricstest"
)

// TestMetricsMatchStats delivers events to a real endpoint that fails
// each first attempt, scrapes GET /metrics with Prometheus's text parser
// and checks the counters against GET /v1/stats.
func TestMetricsMatchStats(t *testing.T) {
	e := newEndpoint(t, clock.Real{}, func(h hit, w http.ResponseWriter, r *http.Request) {
		if h.Attempt == 1 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	h := openHarness(t, t.TempDir(), Config{APIToken: "tok"})
	h.Start(t.Context())
	ep := h.endpoint(t, e.srv.URL, quickPolicy(3))
	h.enqueue(t, ev(ep.ID, "", `{"n":1}`), ev(ep.ID, "", `{"n":2}`), ev(ep.ID, "", `{"n":3}`))
	h.untilFinal(t, 3)

	api := httptest.NewServer(h.Handler())
	t.Cleanup(api.Close)
	if _, err := metricstest.Scrape(api.Client(), api.URL+"/metrics", ""); err == nil {
		t.Error("/metrics answered without the API token")
	}
	fams, err := metricstest.Scrape(api.Client(), api.URL+"/metrics", "tok")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, api.URL+"/v1/stats", nil)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := api.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s Stats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	if s.Accepted != 3 || s.Delivered != 3 || s.Attempts != 6 {
		t.Fatalf("the traffic did not land as meant: %+v", s)
	}
	check := func(name string, want float64, labels ...string) {
		t.Helper()
		if got, ok := fams.Value(name, labels...); !ok || got != want {
			t.Errorf("%s%v = %v (found %v), want %v from /v1/stats", name, labels, got, ok, want)
		}
	}
	check("hookrig_sender_events_accepted_total", float64(s.Accepted))
	check("hookrig_sender_events_delivered_total", float64(s.Delivered))
	check("hookrig_sender_dead_lettered_total", float64(s.DeadLettered))
	check("hookrig_sender_attempts_total", float64(s.Delivered), "outcome", "delivered")
	check("hookrig_sender_attempts_total", float64(s.Attempts-s.Delivered), "outcome", "status_5xx")
	check("hookrig_sender_attempts_total", 0, "outcome", "timeout")
	if got := fams.Sum("hookrig_sender_attempts_total"); got != float64(s.Attempts) {
		t.Errorf("attempts_total sums to %v, /v1/stats %d", got, s.Attempts)
	}
	check("hookrig_sender_attempt_seconds", float64(s.Attempts)) // histograms: their counts
	check("hookrig_sender_delivery_seconds", float64(s.Delivered))
	check("hookrig_sender_pending", float64(s.Pending))
	check("hookrig_sender_in_flight", float64(s.InFlight))
	check("hookrig_sender_breaker_open", float64(s.OpenBreakers))
	check("hookrig_sender_endpoints_disabled", float64(s.DisabledEndpoints))
	check("hookrig_sender_outbox_commits_total", float64(s.Commits))
	check("hookrig_sender_outbox_commit_seconds", float64(s.Commits))
	check("hookrig_sender_outbox_writes_per_commit", float64(s.Commits))
	writes, _ := fams.Value("hookrig_sender_outbox_writes_total")
	if got := fams["hookrig_sender_outbox_writes_per_commit"].GetMetric()[0].GetHistogram().GetSampleSum(); got != writes {
		t.Errorf("writes_per_commit sums to %v, writes_total %v", got, writes)
	}
	if want := s.WritesPerCommit * float64(s.Commits); writes < want-0.5 || writes > want+0.5 {
		t.Errorf("writes_total %v, /v1/stats says %v per commit over %d commits", writes, s.WritesPerCommit, s.Commits)
	}
}

// TestMetricsPerEndpointCapped: with MetricsEndpoints 1, the first
// endpoint attempted gets its own series and the second counts as
// "other"; without the option there is no per-endpoint family at all.
func TestMetricsPerEndpointCapped(t *testing.T) {
	for _, capped := range []int{0, 1} {
		e1 := newEndpoint(t, clock.Real{}, nil)
		e2 := newEndpoint(t, clock.Real{}, nil)
		h := openHarness(t, t.TempDir(), Config{MetricsEndpoints: capped})
		h.Start(t.Context())
		ep1 := h.endpoint(t, e1.srv.URL, quickPolicy(1))
		ep2 := h.endpoint(t, e2.srv.URL, quickPolicy(1))
		h.enqueue(t, ev(ep1.ID, "", `{}`), ev(ep1.ID, "", `{}`))
		h.untilFinal(t, 2) // ep1 is attempted first
		h.enqueue(t, ev(ep2.ID, "", `{}`))
		h.untilFinal(t, 1)
		api := httptest.NewServer(h.Handler())
		fams, err := metricstest.Scrape(api.Client(), api.URL+"/metrics", "")
		api.Close()
		if err != nil {
			t.Fatal(err)
		}
		const name = "hookrig_sender_endpoint_attempts_total"
		if capped == 0 {
			if fams[name] != nil {
				t.Errorf("per-endpoint series without the option: %v", fams[name])
			}
			continue
		}
		if got, _ := fams.Value(name, "endpoint", ep1.ID, "outcome", "delivered"); got != 2 {
			t.Errorf("%s{endpoint=%s} = %v, want 2", name, ep1.ID, got)
		}
		if got, _ := fams.Value(name, "endpoint", "other", "outcome", "delivered"); got != 1 {
			t.Errorf("%s{endpoint=other} = %v, want 1 (past the cap)", name, got)
		}
		if n := len(fams[name].GetMetric()); n != 2 {
			t.Errorf("%d per-endpoint series, want 2", n)
		}
	}
	if _, err := Open(Config{DataDir: t.TempDir(), MetricsEndpoints: -1}); err == nil {
		t.Error("MetricsEndpoints -1 was accepted")
	}
}
