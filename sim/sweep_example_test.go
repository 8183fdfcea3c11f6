package sim_test

import (
	"context"
	"fmt"

	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim"
)

// A retry policy checked over many seeds, in a Go test of your own: how
// many seeds broke the scenario's assertions, and how far dead letters
// spread. The same seeds give the same answer every time.
func ExampleSweep() {
	s, err := scenarios.Parse([]byte(`
name: four-attempts
sender:
  policy:
    backoff: {base: 10ms, factor: 2, cap: 40ms}
    max_attempts: 4
load:
  phases:
    - {name: load, pacer: constant:500, duration: 1s}
faults:
  - name: flaky
    probability: 0.2
    fault: {type: status, code: 503}
assertions:
  - dead_lettered == 0
`), "four-attempts.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := sim.Sweep(context.Background(), s, sim.SweepOptions{First: 1, Count: 50})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d of %d seeds dead-lettered something\n", res.Failed, res.Count)
	for _, m := range res.Spread {
		if m.Metric == "dead_lettered" {
			fmt.Printf("dead letters a run: min %v, p50 %v, max %v\n", m.Min, m.P50, m.Max)
		}
	}
	if failed := res.FailedRuns(); len(failed) > 0 {
		fmt.Printf("first failing seed: %d\n", failed[0].Seed)
	}
	// Output:
	// 30 of 50 seeds dead-lettered something
	// dead letters a run: min 0, p50 1, max 4
	// first failing seed: 2
}
