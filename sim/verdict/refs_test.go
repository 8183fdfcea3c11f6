package verdict_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/hookrig/hookrig/sim/internal/simtest"
	"github.com/hookrig/hookrig/sim/verdict"
)

// The virtual engine feeds the checker by Ref; the result must be the one
// feeding by id gives.
func TestCheckerRefsRecordAsIDsDo(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	type event struct {
		id       string
		key      string
		acks     int
		attempts int
		final    string
	}
	var evs []event
	for i := range 50 {
		e := event{id: fmt.Sprintf("evt_%d", i), key: fmt.Sprintf("k%d", i%3), acks: 1, attempts: 1, final: verdict.StateDelivered}
		switch i % 7 {
		case 1:
			e.acks, e.attempts = 2, 2 // a duplicate
		case 2:
			e.acks, e.final = 0, verdict.StateDeadLettered
		case 3:
			e.acks, e.final = 0, "" // lost
		}
		evs = append(evs, e)
	}
	feed := func(byRef bool) *verdict.Result {
		c := verdict.NewChecker(start)
		for i, e := range evs {
			a := verdict.Accepted{ID: e.id, Key: e.key, Seq: uint64(i + 1), At: at(10 * i)}
			if !byRef {
				c.Accept(a)
				for n := range e.attempts {
					c.Attempt(verdict.AttemptRec{ID: e.id, N: n + 1, At: at(10*i + 1), Status: 200})
				}
				for range e.acks {
					c.Receipt(verdict.ReceiptRec{ID: e.id, At: at(10*i + 3 - i%4), Status: 200, Verified: true})
				}
				if e.final != "" {
					c.Final(verdict.Final{ID: e.id, State: e.final})
				}
				continue
			}
			var r verdict.Ref
			var err error
			if i%2 == 0 {
				r, err = c.NewRef(e.id)
			} else {
				r, err = c.Lookup(e.id)
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := c.AcceptRef(r, a); err != nil {
				t.Fatal(err)
			}
			for n := range e.attempts {
				c.AttemptRef(r, verdict.AttemptRec{N: n + 1, At: at(10*i + 1), Status: 200})
			}
			for range e.acks {
				c.ReceiptRef(r, verdict.ReceiptRec{At: at(10*i + 3 - i%4), Status: 200, Verified: true})
			}
			if e.final != "" {
				if err := c.FinalRef(r, verdict.Final{State: e.final}); err != nil {
					t.Fatal(err)
				}
			}
		}
		// An id named by id after NewRef is the same event, not a new one.
		c.Receipt(verdict.ReceiptRec{ID: "evt_0", At: at(999), Status: 200, Verified: true})
		return c.Result(verdict.RunInfo{Scenario: "refs", End: time.Second})
	}
	byID, byRef := feed(false), feed(true)
	if a, b := simtest.JSON(t, byID), simtest.JSON(t, byRef); !bytes.Equal(a, b) {
		t.Fatalf("by id:\n%s\nby ref:\n%s", a, b)
	}
	if e := byRef.Events; e.Accepted != 50 || e.Unexpected != 0 || e.Duplicated != 8 || e.Lost != 7 || e.DeadLettered != 7 {
		t.Errorf("%+v", e)
	}

	c := verdict.NewChecker(start)
	if _, err := c.NewRef(""); err == nil {
		t.Error("an empty id has no ref")
	}
	if err := c.AttemptRef(3, verdict.AttemptRec{}); err == nil {
		t.Error("a ref the checker never gave must be refused")
	}
	if err := c.FinalRef(0, verdict.Final{State: "done"}); err == nil {
		t.Error("no event 0 yet")
	}
	r, _ := c.NewRef("x")
	if err := c.FinalRef(r, verdict.Final{State: "done"}); err == nil {
		t.Error("an unknown final state must be refused")
	}
}
