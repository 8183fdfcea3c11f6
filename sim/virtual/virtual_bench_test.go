package virtual_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim"
	"github.com/hookrig/hookrig/sim/virtual"
)

// BenchmarkVirtual measures the simulator in simulated delivery attempts
// per second of wall time (the goal: a million), with the checker fed
// every record and the Result worked out, as hookrig sim does:
//
//	go test ./sim -run '^$' -bench Virtual -benchtime 3x
//
// day-long-outage is the built-in (8.64 million events, 18.3 million
// attempts); the others are built-ins at a hundred times their rate.
func BenchmarkVirtual(b *testing.B) {
	cases := []struct {
		name  string
		scale int // rate multiplier
	}{
		{"day-long-outage", 1},
		{"outage-recovery", 100},
		{"flaky-5xx", 100},
		{"slow-receiver-timeouts", 100},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			s, err := scenarios.Builtin(c.name)
			if err != nil {
				b.Fatal(err)
			}
			if c.scale > 1 {
				s = faster(b, s, c.scale)
			}
			attempts := measure(b, func() (virtual.Stats, error) {
				_, st, err := sim.RunVirtual(context.Background(), s, virtual.Options{})
				return st, err
			})
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(attempts), "ns/attempt")
		})
	}
}

// faster multiplies a scenario's constant rates by k.
func faster(b testing.TB, s *scenarios.Scenario, k int) *scenarios.Scenario {
	out := *s
	out.Load.Phases = append([]scenarios.Phase(nil), s.Load.Phases...)
	for i := range out.Load.Phases {
		p := &out.Load.Phases[i]
		rate, err := strconv.Atoi(p.Pacer[len("constant:"):])
		if err != nil || p.Pacer[:len("constant:")] != "constant:" {
			b.Fatalf("%s: phase %s: pacer %q is not constant:N", s.Name, p.Name, p.Pacer)
		}
		p.Pacer = "constant:" + strconv.Itoa(rate*k)
	}
	return &out
}

// measure runs the benchmark's loop over run and reports simulated
// attempts and kernel events per second of wall time; it returns the
// attempts simulated.
func measure(b *testing.B, run func() (virtual.Stats, error)) int64 {
	var attempts int64
	var events uint64
	b.ResetTimer()
	for b.Loop() {
		st, err := run()
		if err != nil {
			b.Fatal(err)
		}
		attempts += st.Attempts
		events += st.Events
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(attempts)/sec, "attempts/s")
	b.ReportMetric(float64(events)/sec, "events/s")
	return attempts
}
