package sim_test

import (
	"testing"
	"time"

	"github.com/hookrig/hookrig/sim"
)

// Every assertion variable reads the result field it documents.
func TestEnvNames(t *testing.T) {
	r := &sim.Result{}
	r.Events = sim.Events{Accepted: 200, Delivered: 190, Lost: 2, Duplicated: 7, DuplicateDeliveries: 9,
		DeadLettered: 4, Pending: 4, Unexpected: 1, Reordered: 13, DeadLetteredReceived: 3}
	r.Ordering = sim.Ordering{Keys: 5, KeysReordered: 4, EventsOutOfOrder: 11}
	r.Latency.Delivery = sim.LatencySummary{P50: 1.5, P90: 20, P99: 250, Max: 1000, Mean: 12.25}
	r.Attempts.Total = 300
	r.Attempts.Faulted = 80
	r.Attempts.Amplification = 1.5
	r.Load.Sent, r.Load.Rejected = 210, 10
	e := r.Env()
	ints := map[string][2]int{
		"accepted":                     {e.Accepted, 200},
		"delivered":                    {e.Delivered, 190},
		"lost":                         {e.Lost, 2},
		"duplicated":                   {e.Duplicated, 7},
		"duplicate_deliveries":         {e.DuplicateDeliveries, 9},
		"dead_lettered":                {e.DeadLettered, 4},
		"pending":                      {e.Pending, 4},
		"unexpected":                   {e.Unexpected, 1},
		"reordered":                    {e.Reordered, 13},
		"dead_lettered_received":       {e.DeadLetteredReceived, 3},
		"ordering.keys":                {e.Ordering.Keys, 5},
		"ordering.keys_reordered":      {e.Ordering.KeysReordered, 4},
		"ordering.events_out_of_order": {e.Ordering.EventsOutOfOrder, 11},
		"attempts.total":               {e.Attempts.Total, 300},
		"faults.injected":              {e.Faults.Injected, 80},
		"load.sent":                    {e.Load.Sent, 210},
		"load.rejected":                {e.Load.Rejected, 10},
	}
	for name, v := range ints {
		if v[0] != v[1] {
			t.Errorf("%s = %d, want %d", name, v[0], v[1])
		}
	}
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
