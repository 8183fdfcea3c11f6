package verdict

import (
	"fmt"
	"testing"
	"time"
)

// WithExampleLimit bounds the example ids of every category, and the
// result says which limit it used.
func TestWithExampleLimit(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, limit := range []int{0, 2, 10} {
		c := NewChecker(start, WithExampleLimit(limit))
		for i := range 5 {
			id := fmt.Sprintf("e%d", i)
			c.Accept(Accepted{ID: id, Seq: uint64(i + 1), At: start})
			c.Receipt(ReceiptRec{ID: fmt.Sprintf("x%d", i), At: start.Add(time.Second), Status: 200, Verified: true})
		}
		r := c.Result(RunInfo{End: time.Minute})
		want := min(limit, 5)
		if r.Examples.Limit != limit || len(r.Examples.Unexpected) != want {
			t.Errorf("limit %d: examples %+v, want %d unexpected ids listed", limit, r.Examples, want)
		}
	}
}
