package sim

import (
	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim/verdict"
)

// Env is the result under the names a scenario's assertions use (the
// README's table of variables). It lives here, not in sim/verdict, because
// it speaks the scenario's vocabulary: the verdict knows no scenario.
func Env(r *verdict.Result) scenarios.Env {
	ratio := func(n int64) float64 {
		if r.Events.Accepted == 0 {
			return 0
		}
		return float64(n) / float64(r.Events.Accepted)
	}
	d := r.Latency.Delivery
	pe := r.Attempts.PerEvent
	return scenarios.Env{
		Accepted:             int(r.Events.Accepted),
		Delivered:            int(r.Events.Delivered),
		Lost:                 int(r.Events.Lost),
		Duplicated:           int(r.Events.Duplicated),
		DuplicateDeliveries:  int(r.Events.DuplicateDeliveries),
		DeadLettered:         int(r.Events.DeadLettered),
		Pending:              int(r.Events.Pending),
		Unexpected:           int(r.Events.Unexpected),
		Reordered:            int(r.Events.Reordered),
		DeadLetteredReceived: int(r.Events.DeadLetteredReceived),
		DeliveredRatio:       ratio(r.Events.Delivered),
		LostRatio:            ratio(r.Events.Lost),
		DuplicatedRatio:      ratio(r.Events.Duplicated),
		DeadLetteredRatio:    ratio(r.Events.DeadLettered),
		Delivery: scenarios.Latency{
			P50: verdict.MsDuration(d.P50), P90: verdict.MsDuration(d.P90), P99: verdict.MsDuration(d.P99),
			Max: verdict.MsDuration(d.Max), Mean: verdict.MsDuration(d.Mean),
		},
		Attempts: scenarios.Attempts{
			Total:         int(r.Attempts.Total),
			PerEvent:      scenarios.Distribution{Mean: pe.Mean, P50: int(pe.P50), P99: int(pe.P99), Max: int(pe.Max)},
			Amplification: r.Attempts.Amplification,
		},
		Herd:   scenarios.Herd{PeakRate: r.Herd.PeakRate, Ratio: r.Herd.Ratio},
		Faults: scenarios.Faults{Injected: int(r.Attempts.Faulted)},
		Load:   scenarios.LoadEnv{Sent: int(r.Load.Sent), Rejected: int(r.Load.Rejected)},
		Ordering: scenarios.Ordering{Keys: int(r.Ordering.Keys), KeysReordered: int(r.Ordering.KeysReordered),
			EventsOutOfOrder: int(r.Ordering.EventsOutOfOrder)},
	}
}

// Check evaluates the scenario's assertions against the result and
// records their verdicts (Passed says whether all held).
func Check(r *verdict.Result, s *scenarios.Scenario) {
	outs := s.Check(Env(r))
	as := make([]verdict.Assertion, len(outs))
	for i, o := range outs {
		as[i] = verdict.Assertion{Expr: o.Expr, Passed: o.Passed, Message: o.Message}
	}
	r.SetAssertions(as)
}
