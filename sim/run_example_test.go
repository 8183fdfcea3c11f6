package sim_test

import (
	"context"
	"fmt"
	"log"

	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim"
	"github.com/hookrig/hookrig/sim/live"
)

// A reliability test in CI: run a scenario live from a _test.go file and
// assert on the Result (in a test: if !res.Passed { t.Fatal(...) }). The
// scenario can be a file, a built-in (scenarios.Builtin("flaky-5xx"),
// .Shortened(0.25) for a quick version), or written inline as here. Point
// live.Options.ReceiverURL at your own endpoint to test it instead of
// hookrig's reference receiver.
func ExampleRun() {
	s, err := scenarios.Parse([]byte(`
name: checkout-webhooks
load:
  phases:
    - {pacer: constant:20, duration: 500ms}     # exactly 10 events
sender:
  policy:
    backoff: {base: 10ms, factor: 2, cap: 50ms}
faults:
  - name: one-503                               # event 4's first attempt fails
    match: attempt == 1 && event_id endsWith "_4"
    fault: {type: status, code: 503}
assertions:
  - lost == 0
  - duplicated == 0
  - attempts.total == accepted + 1
`), "checkout.yaml")
	if err != nil {
		log.Fatal(err)
	}
	res, err := sim.Run(context.Background(), s, live.Options{})
	if err != nil {
		log.Fatal(err)
	}
	e := res.Events
	fmt.Printf("passed %v: %d accepted, %d delivered, %d lost, %d attempts\n",
		res.Passed, e.Accepted, e.Delivered, e.Lost, res.Attempts.Total)
	for _, a := range res.Assertions {
		fmt.Println(a.Passed, a.Expr)
	}
	// Output:
	// passed true: 10 accepted, 10 delivered, 0 lost, 11 attempts
	// true lost == 0
	// true duplicated == 0
	// true attempts.total == accepted + 1
}
