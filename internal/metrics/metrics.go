// Package metrics is the Prometheus plumbing the servers share: the
// /metrics handler and the histogram buckets. Each server keeps its own
// prometheus.Registry (never the global default one), so several servers
// in one process (hookrig run, a Go test) never collide.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Path is where every server serves its metrics.
const Path = "/metrics"

// LatencyBuckets (seconds) span a loopback round trip (100µs) to a
// timed-out attempt (30s): one set for every latency histogram, so panels
// over the sender, proxy and receiver line up.
var LatencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// LongBuckets (seconds) span acceptance to delivery, which retries stretch
// to hours.
var LongBuckets = []float64{.001, .005, .01, .05, .1, .5, 1, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600}

// Handler serves g in the Prometheus text format (or OpenMetrics, when
// the scraper asks), with the process's Go runtime and process metrics
// (go_goroutines, process_resident_memory_bytes, process_open_fds, ...)
// beside it, so a soak or a dashboard can watch a server's resources.
// They are added here, once per served endpoint, not to each server's
// registry: a run that serves several servers' registries together must
// not collect them twice. A collector's error is reported in the answer
// and the rest still served.
func Handler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(WithRuntime(g), promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// WithRuntime is g and the process's Go runtime and process metrics,
// gathered together (what Handler serves).
func WithRuntime(g prometheus.Gatherer) prometheus.Gatherer {
	runtime := prometheus.NewRegistry()
	runtime.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return prometheus.Gatherers{g, runtime}
}

// Counter, Gauge and Value build the constant metrics a collector emits
// at scrape time from counts it already keeps.
func Counter(d *prometheus.Desc, v uint64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
}

// Gauge is Counter for a value that goes up and down.
func Gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

// Bool is a gauge of 1 or 0.
func Bool(d *prometheus.Desc, b bool, labels ...string) prometheus.Metric {
	v := 0.0
	if b {
		v = 1
	}
	return Gauge(d, v, labels...)
}

// Collector is a prometheus.Collector from a function that emits the
// metrics; Describe sends nothing, which makes it an "unchecked"
// collector: its label values (rule names, outcomes) vary while it runs.
type Collector func(ch chan<- prometheus.Metric)

// Describe sends no descriptions (see Collector).
func (Collector) Describe(chan<- *prometheus.Desc) {}

// Collect emits the metrics.
func (c Collector) Collect(ch chan<- prometheus.Metric) { c(ch) }

// Desc describes a metric a collector emits, with no constant labels.
func Desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// Histogram is a histogram of seconds over LatencyBuckets, or over
// buckets when given.
func Histogram(name, help string, buckets ...float64) prometheus.Histogram {
	if len(buckets) == 0 {
		buckets = LatencyBuckets
	}
	return prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
}
