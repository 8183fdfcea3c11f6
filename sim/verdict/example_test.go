package verdict_test

import (
	"fmt"
	"time"

	"github.com/hookrig/hookrig/sim/verdict"
)

// The checker in a harness of your own: feed it what was accepted, the
// attempts and the receipts, then read the guarantees off the Result.
func ExampleChecker() {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := verdict.NewChecker(start)
	for i, id := range []string{"msg_1", "msg_2", "msg_3"} {
		at := start.Add(time.Duration(i) * time.Second)
		_ = c.Accept(verdict.Accepted{ID: id, Key: "customer-7", Seq: uint64(i + 1), At: at})
		c.Attempt(verdict.AttemptRec{ID: id, N: 1, At: at, Status: 503})
		c.Attempt(verdict.AttemptRec{ID: id, N: 2, At: at.Add(2 * time.Second), Status: 200})
		_ = c.Final(verdict.Final{ID: id, State: verdict.StateDelivered})
	}
	// msg_2's 200 never reached the receiver's journal; msg_3 overtook msg_1.
	c.Receipt(verdict.ReceiptRec{ID: "msg_1", At: start.Add(5 * time.Second), Status: 200, Verified: true})
	c.Receipt(verdict.ReceiptRec{ID: "msg_3", At: start.Add(4 * time.Second), Status: 200, Verified: true})

	r := c.Result(verdict.RunInfo{Scenario: "example", Mode: verdict.ModeLive, End: 10 * time.Second})
	e := r.Events
	fmt.Printf("accepted %d, delivered %d, lost %d %v, reordered %d\n", e.Accepted, e.Delivered, e.Lost, r.Examples.Lost, e.Reordered)
	fmt.Printf("attempts %d, amplification %.1f, delivery p50 %.0f ms, max %.0f ms\n",
		r.Attempts.Total, r.Attempts.Amplification, r.Latency.Delivery.P50, r.Latency.Delivery.Max)
	// Percentiles come from an HDR histogram: the top of their bucket, within
	// 0.1% (2000 ms reads 2001); min and max are exact.

	// Output:
	// accepted 3, delivered 2, lost 1 [msg_2], reordered 1
	// attempts 6, amplification 2.0, delivery p50 2001 ms, max 5000 ms
}
