package live_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hookrig/hookrig/sim"
	"github.com/hookrig/hookrig/sim/internal/simtest"
	"github.com/hookrig/hookrig/sim/live"
)

// Issue 11, finding 5: a Ctrl-C during an outage printed "draining -15s
// (up to 20s)" three times and the "down" fault kept refusing every retry
// through the drain. Now the interrupt stops the faults, the drain is
// bounded by InterruptDrain and measured from its real start, and the
// progress display hears of it once. The context is cancelled from the
// progress callback, inside the down window: no sleeps.
func TestInterruptStopsFaultsAndDrainsOnce(t *testing.T) {
	s := simtest.Parse(t, "interrupted-outage", `
sender:
  policy:
    backoff: {base: 50ms, factor: 2, cap: 200ms}
    max_attempts: 1000
    breaker: {failures: 0}
load:
  phases:
    - {name: load, pacer: constant:50, duration: 20s}
faults:
  - name: endpoint-down
    fault: {type: down}
    after: 300ms
    for: 15s
drain: {timeout: 20s}
`)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var (
		mu    sync.Mutex
		seen  []live.Progress
		cutAt time.Duration
	)
	const brief = 3 * time.Second
	res, err := sim.Run(ctx, s, live.Options{
		InterruptDrain: brief,
		ProgressEvery:  20 * time.Millisecond,
		Progress: func(p live.Progress) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, p)
			// Interrupt once the down window has refused something.
			if cutAt == 0 && p.Stage == "load" && p.FaultsInjected > 0 {
				cutAt = p.Elapsed
				cancel()
			}
		},
	})
	if err != live.ErrInterrupted || res == nil {
		t.Fatalf("err %v, result %v", err, res != nil)
	}
	mu.Lock()
	defer mu.Unlock()
	if cutAt == 0 {
		t.Fatal("the down window never refused an attempt before the load ended")
	}
	var interrupted []live.Progress
	for i, p := range seen {
		if p.Stage == "drain" && p.Elapsed < p.DrainStart {
			t.Errorf("progress %d: %s into the run, before the drain began at %s", i, p.Elapsed, p.DrainStart)
		}
		if p.Interrupted && p.Stage == "drain" {
			interrupted = append(interrupted, p)
		}
	}
	if len(interrupted) != 1 {
		t.Fatalf("the interrupted drain was reported %d times, want once: %+v", len(interrupted), interrupted)
	}
	p := interrupted[0]
	if p.DrainTimeout != brief || p.DrainStart < cutAt || p.DrainStart >= s.LoadEnd() {
		t.Errorf("interrupted at %s: drain from %s for up to %s, want from the interrupt for up to %s", cutAt, p.DrainStart, p.DrainTimeout, brief)
	}
	if last := seen[len(seen)-1]; last.Stage != "done" || !last.Interrupted {
		t.Errorf("last progress %+v, want the end of an interrupted run", last)
	}
	// The down window ran to 15.3 s: had it kept firing, no retry could
	// have landed in the 3 s drain.
	e := res.Events
	if e.Accepted == 0 || e.Delivered != e.Accepted || e.Pending != 0 || res.Run.DrainTimedOut {
		t.Errorf("accepted %d, delivered %d, pending %d, drain timed out %v: the faults did not stop at the interrupt",
			e.Accepted, e.Delivered, e.Pending, res.Run.DrainTimedOut)
	}
}
