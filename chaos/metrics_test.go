package chaos

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/hookrig/hookrig/internal/metrics/metricstest"
)

// TestMetricsMatchStats sends real requests through the proxy, scrapes
// the control listener's GET /metrics with Prometheus's text parser and
// checks the counters against GET /v1/stats; the proxied port has no
// /metrics of its own (the upstream gets the request).
func TestMetricsMatchStats(t *testing.T) {
	up, hits := startUpstream(t, nil)
	tp := startProxy(t, up.URL, `
rules:
  - {name: odd, match: 'attempt % 2 == 1', fault: {type: status, code: 503}}
`, Config{ControlToken: "tok"})
	api := startControl(t, tp).URL
	for i := 1; i <= 6; i++ {
		if _, _, err := tp.post(t, "/hooks", map[string]string{"webhook-id": "evt_1", "webhook-attempt": fmt.Sprint(i)}, "{}"); err != nil {
			t.Fatal(err)
		}
		tp.record(t) // filed, and so observed
	}
	if code, _ := call(t, "POST", api+"/v1/rules", "tok", "{bad"); code != http.StatusBadRequest {
		t.Fatalf("bad rule: %d", code)
	}
	if code, _ := call(t, "POST", api+"/v1/rules", "tok", `{"name":"slow","fault":{"type":"latency","delay":"1ms"}}`); code/100 != 2 {
		t.Fatalf("add rule: %d", code)
	}

	if _, err := metricstest.Scrape(http.DefaultClient, api+"/metrics", ""); err == nil {
		t.Error("/metrics answered without the control token")
	}
	fams, err := metricstest.Scrape(http.DefaultClient, api+"/metrics", "tok")
	if err != nil {
		t.Fatal(err)
	}
	_, body := call(t, "GET", api+"/v1/stats", "tok", "")
	var s Stats
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatal(err)
	}
	if s.Requests != 6 || s.Injected != 3 || s.Forwarded != 3 {
		t.Fatalf("the traffic did not land as meant: %s", body)
	}
	check := func(name string, want uint64, labels ...string) {
		t.Helper()
		if got, ok := fams.Value(name, labels...); !ok || got != float64(want) {
			t.Errorf("%s%v = %v (found %v), /v1/stats says %d", name, labels, got, ok, want)
		}
	}
	check("hookrig_chaos_requests_total", s.Rules[0].Injected, "rule", "odd", "fault", "status")
	check("hookrig_chaos_requests_total", s.Requests-s.Injected, "rule", "", "fault", "none")
	check("hookrig_chaos_requests_total", 0, "rule", "slow", "fault", "latency")
	check("hookrig_chaos_rule_matched_total", s.Rules[0].Matched, "rule", "odd")
	check("hookrig_chaos_responses_total", s.Outcomes["503"], "outcome", "503")
	check("hookrig_chaos_responses_total", s.Outcomes["200"], "outcome", "200")
	check("hookrig_chaos_forwarded_total", s.Forwarded)
	check("hookrig_chaos_upstream_seconds", s.Forwarded) // a histogram: its count
	check("hookrig_chaos_added_seconds", s.Requests)
	check("hookrig_chaos_rule_reloads_total", 1)
	check("hookrig_chaos_rule_refusals_total", 1)
	check("hookrig_chaos_rules", 2)

	// The proxied port forwards GET /metrics like any other path.
	for len(hits) > 0 {
		<-hits
	}
	resp, err := tp.client.Get(tp.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if h := getHit(t, hits); h.Path != "/metrics" {
		t.Errorf("the upstream got %q, want the forwarded /metrics", h.Path)
	}
}
