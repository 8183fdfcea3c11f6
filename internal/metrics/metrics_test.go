package metrics_test

import (
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookrig/hookrig/internal/metrics"
	"github.com/hookrig/hookrig/internal/metrics/metricstest"
)

// A served registry carries the process's runtime metrics beside its own,
// so a soak can count goroutines and resident memory from /metrics.
func TestHandlerAddsRuntimeMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "hookrig_test_events_total", Help: "Events."})
	reg.MustRegister(c)
	c.Add(3)
	srv := httptest.NewServer(metrics.Handler(reg))
	defer srv.Close()
	fams, err := metricstest.Scrape(srv.Client(), srv.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := fams.Value("hookrig_test_events_total"); !ok || v != 3 {
		t.Errorf("hookrig_test_events_total = %v (present %v), want 3", v, ok)
	}
	if v, ok := fams.Value("go_goroutines"); !ok || v < 1 {
		t.Errorf("go_goroutines = %v (present %v), want at least 1", v, ok)
	}
	if v, ok := fams.Value("process_resident_memory_bytes"); !ok || v <= 0 {
		t.Errorf("process_resident_memory_bytes = %v (present %v), want above 0", v, ok)
	}
}

// Two servers' registries served together (hookrig run --metrics) still
// get one copy of the runtime metrics: gathering them twice is an error
// (which a served scrape would hide, serving what it could).
func TestRuntimeMetricsGatheredOnce(t *testing.T) {
	a, b := prometheus.NewRegistry(), prometheus.NewRegistry()
	a.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "hookrig_a_total", Help: "A."}))
	b.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "hookrig_b_total", Help: "B."}))
	fams, err := metrics.WithRuntime(prometheus.Gatherers{a, b}).Gather()
	if err != nil {
		t.Fatalf("gathering two registries with the runtime metrics: %v", err)
	}
	names := map[string]bool{}
	for _, f := range fams {
		names[f.GetName()] = true
	}
	for _, name := range []string{"hookrig_a_total", "hookrig_b_total", "go_goroutines", "process_resident_memory_bytes"} {
		if !names[name] {
			t.Errorf("%s missing", name)
		}
	}
	// The check above would see a second copy: adding the runtime twice
	// fails the gather.
	if _, err := metrics.WithRuntime(metrics.WithRuntime(a)).Gather(); err == nil {
		t.Error("runtime metrics gathered twice without an error; the check above could not see a copy")
	}
}
