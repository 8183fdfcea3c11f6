package virtual_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim/virtual"
)

// BenchmarkFleet measures the simulator on fleet-day (10,000 endpoints,
// 24 simulated hours at 100 events/s: 8.64 million events, the issue's
// mix of dead, flaky, slow and rate-limited endpoints) in simulated
// delivery attempts per second of wall time (the goal: a million), with
// the checker fed every record and the Result worked out, and the peak
// heap the run reached (sampled every simulated ten minutes):
//
//	go test ./sim/virtual -run '^$' -bench Fleet -benchtime 1x
//
// It runs the scenario as written only; hookrig sim runs the isolation
// baseline (the sick groups healed) alongside, on another core.
func BenchmarkFleet(b *testing.B) {
	s, err := scenarios.Builtin("fleet-day")
	if err != nil {
		b.Fatal(err)
	}
	var peak uint64
	var ms runtime.MemStats
	sample := func(virtual.Progress) {
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc)
	}
	measure(b, func() (virtual.Stats, error) {
		_, st, err := virtual.Run(context.Background(), s, virtual.Options{Progress: sample, ProgressEvery: 10 * time.Minute})
		return st, err
	})
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(0, "ns/op")
}
