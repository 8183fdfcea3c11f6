package plan

import (
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/hookrig/hookrig/loadgen"
)

// Arrivals worked out ahead are the load's arrivals as loadgen numbers and
// times them, each with the fleet's endpoint and the id of its number, in
// order, across many batches and to the last; and a loop that stops early
// stops the planner (Arrivals returns only once it has).
func TestArrivalsAhead(t *testing.T) {
	s := fleetScenario(t, "", 3)
	s.Load.Phases[0].Pacer = "constant:4000" // 40,000 arrivals: 9 batches and a part
	pacer, err := LoadPacer(s)
	if err != nil {
		t.Fatal(err)
	}
	f := NewFleet(s)
	assign := func(k uint64) int32 { return int32(f.Assign(k).Index) }

	var want []Arrival
	for n, at := range loadgen.Arrivals(pacer, 0) {
		want = append(want, Arrival{N: n, At: at, Endpoint: assign(n), ID: "evt_3_" + strconv.FormatUint(n, 10)})
	}
	if len(want) < arrivalBatch*arrivalBatches*2 {
		t.Fatalf("%d arrivals: too few to go round the batches twice", len(want))
	}
	i := 0
	for a := range Arrivals(pacer, assign, "evt_3_") {
		if i >= len(want) || *a != want[i] {
			t.Fatalf("arrival %d = %+v, want %+v", i, *a, want[min(i, len(want)-1)])
		}
		i++
	}
	if i != len(want) {
		t.Fatalf("%d arrivals, want %d", i, len(want))
	}

	// Without a fleet every arrival is for endpoint 0. An endless pacer,
	// left early at every point of a batch's life: the planner has stopped
	// when Arrivals returns (it assigns nothing after).
	for _, stop := range []int{0, 1, arrivalBatch - 1, arrivalBatch, 3*arrivalBatch + 7, arrivalBatch * arrivalBatches * 3} {
		var returned, late atomic.Bool
		planner := func(uint64) int32 {
			if returned.Load() {
				late.Store(true)
			}
			return 0
		}
		n := 0
		for a := range Arrivals(loadgen.Constant(1000), planner, "x_") {
			if a.Endpoint != 0 || a.N != uint64(n) || a.ID != "x_"+strconv.Itoa(n) {
				t.Fatalf("arrival %d = %+v", n, *a)
			}
			if n == stop {
				break
			}
			n++
		}
		returned.Store(true)
		if n != stop {
			t.Fatalf("stopped at %d, want %d", n, stop)
		}
		// Give a planner still running (it must not be) time to assign
		// again: it fills a batch of 4,096 in well under a millisecond.
		for range 100 {
			runtime.Gosched()
		}
		if late.Load() {
			t.Fatalf("stopped at %d: the planner assigned after Arrivals returned", stop)
		}
	}
}
