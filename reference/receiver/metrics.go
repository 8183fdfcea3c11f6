package receiver

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookrig/hookrig/internal/metrics"
)

// The receiver's Prometheus metrics (GET /metrics). The counters are
// Stats read at scrape time, so the webhook path does no work for them;
// the one figure observed per request is the ack latency: one clock read
// and a histogram add, arrival being the receipt's At.
var (
	descRequests = metrics.Desc("hookrig_receiver_requests_total", "Webhook requests by result: acked (first sighting), duplicate (acked again, not processed), conflict (409), "+
		"failed (processing before the ack), overloaded and unkept (503), or the rejection: "+
		"bad_signature, stale (timestamp outside the tolerance or unreadable), too_large, unreadable, not_json, bad_method, long_id.", "result")
	descEntries     = metrics.Desc("hookrig_receiver_dedupe_entries", "webhook-ids in the dedupe window now.")
	descEvictions   = metrics.Desc("hookrig_receiver_dedupe_evictions_total", "webhook-ids dropped from the dedupe window by TTL or size.")
	descQueue       = metrics.Desc("hookrig_receiver_processing_pending", "Webhooks acknowledged and not yet processed (the processing queue's depth).")
	descProcessed   = metrics.Desc("hookrig_receiver_processed_total", "Processing steps by result: done, failed (after the ack: the receiver's own problem), abandoned (cut short by shutdown).", "result")
	descFlushErrors = metrics.Desc("hookrig_receiver_journal_flush_errors_total", "Journal or dedupe store write-outs that failed.")
	descUnwritable  = metrics.Desc("hookrig_receiver_journal_unwritable", "1 while the last flush failed: verified webhooks are answered 503.")
	descBuffered    = metrics.Desc("hookrig_receiver_journal_buffered_bytes", "Receipt bytes waiting for the next journal flush.")
)

// receiverMetrics is one receiver's registry and its per-request figure.
type receiverMetrics struct {
	reg *prometheus.Registry
	ack prometheus.Histogram
}

func newMetrics(r *Receiver) *receiverMetrics {
	m := &receiverMetrics{
		reg: prometheus.NewRegistry(),
		ack: metrics.Histogram("hookrig_receiver_ack_seconds",
			"From a webhook's arrival to its acknowledgement (2xx), the fsync included with SyncAck."),
	}
	m.reg.MustRegister(m.ack, metrics.Collector(r.collect))
	return m
}

// acked observes the ack latency of a webhook that arrived at.
func (m *receiverMetrics) acked(now, at time.Time) { m.ack.Observe(now.Sub(at).Seconds()) }

// collect turns Stats into metrics at scrape time.
func (r *Receiver) collect(ch chan<- prometheus.Metric) {
	s := r.Stats()
	rb := s.RejectedBy
	for _, c := range [...]struct {
		result string
		n      uint64
	}{
		{"acked", s.Unique}, {"duplicate", s.Duplicates}, {"conflict", s.Conflicts}, {"failed", s.Failed},
		{"overloaded", s.Overloaded}, {"unkept", s.Unkept},
		{"bad_signature", rb.Signature}, {"stale", rb.Timestamp}, {"too_large", rb.TooLarge},
		{"unreadable", rb.Unreadable}, {"not_json", rb.NotJSON}, {"bad_method", rb.Method}, {"long_id", rb.LongID},
	} {
		ch <- metrics.Counter(descRequests, c.n, c.result)
	}
	ch <- metrics.Gauge(descEntries, float64(s.Window))
	ch <- metrics.Counter(descEvictions, s.Evictions)
	ch <- metrics.Gauge(descQueue, float64(s.Processing.Pending))
	ch <- metrics.Counter(descProcessed, s.Processing.Done, "done")
	ch <- metrics.Counter(descProcessed, s.Processing.Failed, "failed")
	ch <- metrics.Counter(descProcessed, s.Processing.Abandoned, "abandoned")
	ch <- metrics.Counter(descFlushErrors, s.Journal.FlushErrors)
	ch <- metrics.Bool(descUnwritable, s.Journal.Unwritable)
	ch <- metrics.Gauge(descBuffered, float64(s.Journal.Buffered))
}

// Metrics is the receiver's registry, for a process that serves several
// components' metrics on one listener (hookrig run --metrics).
func (r *Receiver) Metrics() prometheus.Gatherer { return r.metrics.reg }

// metricsHandler serves GET /metrics.
func (r *Receiver) metricsHandler() http.Handler { return metrics.Handler(r.metrics.reg) }
