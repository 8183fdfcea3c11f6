package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/hookrig/hookrig/internal/httpapi"
	"github.com/hookrig/hookrig/internal/metrics"
	"github.com/hookrig/hookrig/loadgen"
)

// metricsFlagUsage is --metrics's help, the same on run and bench.
const metricsFlagUsage = "serve live Prometheus metrics on `ADDR` (host:port; no host means 127.0.0.1; port 0 picks one) at /metrics while it runs"

// serveMetrics serves g at /metrics on addr until stop, and says where on
// w (the first line to name the port when addr's is 0).
func serveMetrics(w io.Writer, cmdName, addr string, g prometheus.Gatherer) (stop func(), err error) {
	ln, err := httpapi.Listen(addr)
	if err != nil {
		return nil, fmt.Errorf("%s: --metrics %s: %w", cmdName, addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+metrics.Path, metrics.Handler(g))
	srv := httpapi.NewServer(mux)
	go srv.Serve(ln)
	fmt.Fprintf(w, "hookrig: metrics on http://%s%s\n", ln.Addr(), metrics.Path)
	return func() { srv.Close() }, nil
}

// laterGatherer gathers nothing until set: a run's components exist only
// once it has started them.
type laterGatherer struct {
	g atomic.Pointer[prometheus.Gatherer]
}

func (l *laterGatherer) set(g prometheus.Gatherer) { l.g.Store(&g) }

func (l *laterGatherer) Gather() ([]*dto.MetricFamily, error) {
	if g := l.g.Load(); g != nil {
		return (*g).Gather()
	}
	return nil, nil
}

// loadResults are the load generator's result label's values: the
// answer's status class, or why there was none (loadgen.ErrorKinds, the
// words of loadgen.Sent.Err), the last of which is "other".
var loadResults = append([]string{"status_1xx", "status_2xx", "status_3xx", "status_4xx", "status_5xx", "status_other"},
	loadgen.ErrorKinds()...)

// numStatusResults is how many of loadResults are status classes.
const numStatusResults = 6

var (
	descLoadInFlight = metrics.Desc("hookrig_load_in_flight", "Requests sent and not yet answered.")
	descLoadRate     = metrics.Desc("hookrig_load_asked_rate", "Requests per second the pacer asks for now (0 in a closed loop).")
)

// loadMetrics are bench's live figures: every request by result and its
// latency, observed as each one finishes (Config.OnSent); in flight and
// the asked rate read from the runner at scrape time.
type loadMetrics struct {
	reg     *prometheus.Registry
	results []prometheus.Counter
	latency prometheus.Histogram
	runner  atomic.Pointer[loadgen.Runner]
}

func newLoadMetrics() *loadMetrics {
	m := &loadMetrics{
		reg:     prometheus.NewRegistry(),
		results: make([]prometheus.Counter, len(loadResults)),
		latency: metrics.Histogram("hookrig_load_latency_seconds",
			"A request's latency, corrected: from when it was due (open loop) to the end of its answer."),
	}
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hookrig_load_requests_total",
		Help: "Requests sent, by the answer's status class (status_2xx, ...) or why there was none (timeout, refused, reset, ...).",
	}, []string{"result"})
	for i, r := range loadResults {
		m.results[i] = vec.WithLabelValues(r)
	}
	m.reg.MustRegister(vec, m.latency, metrics.Collector(m.collect))
	return m
}

// sent is Config.OnSent: one request done.
func (m *loadMetrics) sent(s loadgen.Sent) {
	m.results[loadResult(s.Status, s.Err)].Inc()
	m.latency.Observe((s.Started.Sub(s.Intended) + s.Latency).Seconds())
}

// loadResult places a request in loadResults.
func loadResult(status int, err string) int {
	if err != "" || status == 0 {
		for i, r := range loadResults[numStatusResults:] {
			if r == err {
				return numStatusResults + i
			}
		}
		return len(loadResults) - 1
	}
	if c := status / 100; c >= 1 && c <= 5 {
		return c - 1
	}
	return 5
}

func (m *loadMetrics) collect(ch chan<- prometheus.Metric) {
	r := m.runner.Load()
	if r == nil {
		return
	}
	s := r.Snapshot()
	ch <- metrics.Gauge(descLoadInFlight, float64(s.InFlight))
	ch <- metrics.Gauge(descLoadRate, s.AskedRate)
}

// benchMetrics starts --metrics for a bench: it hooks the runner's
// config (before loadgen.New) and returns attach, to call with the
// runner, and stop.
func benchMetrics(w io.Writer, addr string, cfg *loadgen.Config) (attach func(*loadgen.Runner), stop func(), err error) {
	m := newLoadMetrics()
	if prev := cfg.OnSent; prev != nil {
		cfg.OnSent = func(s loadgen.Sent) { m.sent(s); prev(s) }
	} else {
		cfg.OnSent = m.sent
	}
	stop, err = serveMetrics(w, "bench", strings.TrimSpace(addr), m.reg)
	if err != nil {
		return nil, nil, err
	}
	return func(r *loadgen.Runner) { m.runner.Store(r) }, stop, nil
}
