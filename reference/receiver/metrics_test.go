package receiver

import (
	"net/http"
	"testing"
	"time"

	"github.com/hookrig/hookrig/internal/metrics/metricstest"
)

// TestMetricsMatchStats sends webhooks of every kind over a real socket,
// scrapes GET /metrics with Prometheus's text parser and checks each
// counter against GET /v1/stats.
func TestMetricsMatchStats(t *testing.T) {
	g := newRig(t, Config{})
	for _, id := range []string{"msg_1", "msg_2", "msg_3", "msg_2"} { // msg_2 twice: a duplicate
		if a := g.post(id, 1); a.Status != http.StatusOK {
			t.Fatalf("post %s: %d %s", id, a.Status, a.Body)
		}
	}
	bad := g.webhookReq("/webhooks", "msg_4", []byte(`{"a":1}`))
	bad.Header.Set("Webhook-Signature", "v1,AAAA")
	g.do(bad)
	g.do(g.webhookReq("/webhooks", "msg_5", []byte(`not json`)))
	stale := g.webhookReq("/webhooks", "msg_6", []byte(`{"a":1}`))
	g.clock.Advance(time.Hour)
	g.do(stale)
	// A webhook POSTed to /metrics is a webhook, not a scrape.
	if a := g.do(g.webhookReq("/metrics", "msg_7", []byte(`{"a":1}`))); a.Status != http.StatusOK {
		t.Fatalf("webhook to /metrics: %d %s", a.Status, a.Body)
	}

	fams, err := metricstest.Scrape(g.srv.Client(), g.srv.URL+"/metrics", "")
	if err != nil {
		t.Fatal(err)
	}
	var s Stats
	g.get("/v1/stats", &s)
	if s.Unique != 4 || s.Duplicates != 1 || s.RejectedBy.Signature != 1 || s.RejectedBy.NotJSON != 1 || s.RejectedBy.Timestamp != 1 {
		t.Fatalf("the traffic did not land as meant: %+v", s)
	}
	for _, c := range []struct {
		result string
		want   uint64
	}{
		{"acked", s.Unique}, {"duplicate", s.Duplicates}, {"bad_signature", s.RejectedBy.Signature},
		{"not_json", s.RejectedBy.NotJSON}, {"stale", s.RejectedBy.Timestamp}, {"too_large", 0},
	} {
		got, ok := fams.Value("hookrig_receiver_requests_total", "result", c.result)
		if !ok || got != float64(c.want) {
			t.Errorf("requests_total{result=%q} = %v (found %v), /v1/stats says %d", c.result, got, ok, c.want)
		}
	}
	if got := fams.Sum("hookrig_receiver_requests_total"); got != float64(s.Received) {
		t.Errorf("requests_total sums to %v, received %d", got, s.Received)
	}
	if got, _ := fams.Value("hookrig_receiver_ack_seconds"); got != float64(s.Unique+s.Duplicates) {
		t.Errorf("ack_seconds counts %v acks, /v1/stats %d", got, s.Unique+s.Duplicates)
	}
	if got, ok := fams.Value("hookrig_receiver_dedupe_entries"); !ok || got != float64(s.Window) {
		t.Errorf("dedupe_entries = %v, window %d", got, s.Window)
	}
	for _, name := range []string{"hookrig_receiver_dedupe_evictions_total", "hookrig_receiver_processing_pending", "hookrig_receiver_journal_flush_errors_total"} {
		if _, ok := fams.Value(name); !ok {
			t.Errorf("%s missing", name)
		}
	}
}
