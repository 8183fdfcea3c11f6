package sim_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hookrig/hookrig/sim"
	"github.com/hookrig/hookrig/sim/internal/simtest"
	"github.com/hookrig/hookrig/sim/verdict"
)

// Every assertion variable reads the result field it documents.
func TestEnvNames(t *testing.T) {
	r := &verdict.Result{}
	r.Events = verdict.Events{Accepted: 200, Delivered: 190, Lost: 2, Duplicated: 7, DuplicateDeliveries: 9,
		DeadLettered: 4, Pending: 4, Unexpected: 1, Reordered: 13, DeadLetteredReceived: 3}
	r.Ordering = verdict.Ordering{Keys: 5, KeysReordered: 4, EventsOutOfOrder: 11}
	r.Latency.Delivery = verdict.LatencySummary{P50: 1.5, P90: 20, P99: 250, Max: 1000, Mean: 12.25}
	r.Attempts.Total = 300
	r.Attempts.Faulted = 80
	r.Attempts.Amplification = 1.5
	r.Load.Sent, r.Load.Rejected = 210, 10
	e := sim.Env(r)
	simtest.Want(t, r, map[string][2]int64{
		"accepted":                     {int64(e.Accepted), 200},
		"delivered":                    {int64(e.Delivered), 190},
		"lost":                         {int64(e.Lost), 2},
		"duplicated":                   {int64(e.Duplicated), 7},
		"duplicate_deliveries":         {int64(e.DuplicateDeliveries), 9},
		"dead_lettered":                {int64(e.DeadLettered), 4},
		"pending":                      {int64(e.Pending), 4},
		"unexpected":                   {int64(e.Unexpected), 1},
		"reordered":                    {int64(e.Reordered), 13},
		"dead_lettered_received":       {int64(e.DeadLetteredReceived), 3},
		"ordering.keys":                {int64(e.Ordering.Keys), 5},
		"ordering.keys_reordered":      {int64(e.Ordering.KeysReordered), 4},
		"ordering.events_out_of_order": {int64(e.Ordering.EventsOutOfOrder), 11},
		"attempts.total":               {int64(e.Attempts.Total), 300},
		"faults.injected":              {int64(e.Faults.Injected), 80},
		"load.sent":                    {int64(e.Load.Sent), 210},
		"load.rejected":                {int64(e.Load.Rejected), 10},
	})
	if e.DuplicatedRatio != 7.0/200 || e.LostRatio != 2.0/200 || e.Attempts.Amplification != 1.5 {
		t.Errorf("ratios: duplicated %v lost %v amplification %v", e.DuplicatedRatio, e.LostRatio, e.Attempts.Amplification)
	}
	durs := map[string][2]time.Duration{
		"delivery.p50":  {e.Delivery.P50, 1500 * time.Microsecond},
		"delivery.p99":  {e.Delivery.P99, 250 * time.Millisecond},
		"delivery.max":  {e.Delivery.Max, time.Second},
		"delivery.mean": {e.Delivery.Mean, 12250 * time.Microsecond},
	}
	for name, v := range durs {
		if v[0] != v[1] {
			t.Errorf("%s = %v, want %v", name, v[0], v[1])
		}
	}
}

// A fleet's variables: groups.NAME.* by group and isolation.*; an
// assertion over one without a value fails and says why.
func TestEnvFleetNames(t *testing.T) {
	r := &verdict.Result{Events: verdict.Events{Accepted: 10, Delivered: 10}}
	r.Endpoints = &verdict.Fleet{Groups: []verdict.GroupResult{
		{Name: "healthy", EventCounts: verdict.EventCounts{Accepted: 8, Delivered: 7, Lost: 1}, Attempts: 9, Amplification: 1.125,
			Latency: verdict.LatencySummary{P50: 2, P99: 40, Count: 7}, Herd: verdict.Herd{PeakRate: 12, Ratio: 3}},
		{Name: "sick", Sick: true, EventCounts: verdict.EventCounts{Accepted: 2, DeadLettered: 1, Pending: 1}, Attempts: 20, Amplification: 10},
	}}
	r.Isolation = &verdict.Isolation{P99Ms: 40, BaselineP99Ms: 20, Ratio: 2, Baseline: true}
	e := sim.Env(r)
	h, s := e.Groups["healthy"], e.Groups["sick"]
	if h.Accepted != 8 || h.Delivered != 7 || h.Lost != 1 || h.Attempts != 9 || h.Amplification != 1.125 ||
		h.Latency.P99 != 40*time.Millisecond || h.Latency.P50 != 2*time.Millisecond || h.Herd.PeakRate != 12 || h.Herd.Ratio != 3 {
		t.Errorf("healthy = %+v", h)
	}
	if s.DeadLettered != 1 || s.Pending != 1 || s.Attempts != 20 {
		t.Errorf("sick = %+v", s)
	}
	if e.Isolation.Ratio != 2 || e.Isolation.P99 != 40*time.Millisecond || e.Isolation.BaselineP99 != 20*time.Millisecond {
		t.Errorf("isolation = %+v", e.Isolation)
	}
	sc := simtest.Parse(t, "fleet-env", `
load:
  phases:
    - {pacer: constant:1, duration: 1s}
endpoints:
  - {name: healthy, count: 2}
  - {name: sick, count: 1}
assertions:
  - groups.healthy.latency.p99 == duration("40ms") && groups.sick.lost == 0 && isolation.ratio <= 2
  - groups.sick.latency.p99 < duration("1s")
  - groups.healthy.lost == 0
`)
	sim.Check(r, sc)
	as := r.Assertions
	if !as[0].Passed || as[1].Passed || !strings.Contains(as[1].Message, "no event of group sick was delivered") ||
		as[2].Passed || !strings.Contains(as[2].Message, "groups.healthy.lost = 1") {
		t.Errorf("assertions %+v", as)
	}
	r.Isolation.Baseline = false
	sim.Check(r, sc)
	if r.Assertions[0].Passed || !strings.Contains(r.Assertions[0].Message, "no isolation baseline") {
		t.Errorf("without a baseline: %+v", r.Assertions[0])
	}
}
