package sim_test

import (
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
