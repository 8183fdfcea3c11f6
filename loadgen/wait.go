package loadgen

import (
	"context"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
)

// waiter blocks the scheduler until a moment on the run's clock. wait
// returns false when the run was cancelled first.
type waiter interface {
	wait(until time.Time) bool
	close()
}

// clockWaiter waits on the clock's timers: the portable way, and the one a
// fake clock drives in tests.
type clockWaiter struct {
	ctx context.Context
	clk clock.Clock
}

func (w *clockWaiter) wait(until time.Time) bool {
	if !until.After(w.clk.Now()) {
		return w.ctx.Err() == nil
	}
	t := clock.TimerAt(w.clk, until) // a moment, so an Advance meanwhile is not missed
	select {
	case <-t.C():
		return true
	case <-w.ctx.Done():
		t.Stop()
		return false
	}
}

func (w *clockWaiter) close() {}
