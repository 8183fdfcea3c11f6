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
