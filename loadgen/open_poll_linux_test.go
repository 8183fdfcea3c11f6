//go:build linux

package loadgen

import (
	"context"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/hookrig/hookrig/internal/clock"
)

// The poll loop sets its timer to moments of CLOCK_MONOTONIC mapped from
// the run's clock: a moment mapped early would wake the scheduler before
// a request is due, and the wait would find nothing to do.
func TestTimerClockIsNeverEarly(t *testing.T) {
	var c timerClock
	if !c.sync(clock.Real{}) {
		t.Fatal("sync failed: CLOCK_MONOTONIC unreadable")
	}
	for i := range 100 {
		before := monotonic(t)
		got := c.mono(time.Now())
		after := monotonic(t)
		if got < before {
			t.Fatalf("try %d: mapped to %d ns, %d ns before CLOCK_MONOTONIC read just before it", i, got, before-got)
		}
		if got-after > int64(time.Second) {
			t.Fatalf("try %d: mapped to %d ns, %v after CLOCK_MONOTONIC read just after it", i, got, time.Duration(got-after))
		}
	}
}

func monotonic(t *testing.T) int64 {
	var ts syscall.Timespec
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 1, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		t.Fatal(e)
	}
	return ts.Nano()
}

// The waiter the closed loop and the portable open loop use sets its
// timerfd to the same moments: a wait never returns before its moment,
// and a cancelled run ends a wait in progress.
func TestTimerfdWaiterIsNeverEarly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	w := newWaiter(ctx, clock.Real{}, true)
	defer w.close()
	if _, ok := w.(*timerfdWaiter); !ok {
		t.Skipf("no timerfd here: the waiter is a %T", w)
	}
	for i := range 20 {
		until := time.Now().Add(time.Duration(200+i*50) * time.Microsecond)
		if !w.wait(until) {
			t.Fatalf("wait %d failed", i)
		}
		if now := time.Now(); now.Before(until) {
			t.Fatalf("wait %d returned %v before its moment", i, until.Sub(now))
		}
	}
	if !w.wait(time.Now().Add(-time.Second)) {
		t.Fatal("a moment already past: want an immediate true")
	}
	cancel()
	if w.wait(time.Now().Add(time.Hour)) {
		t.Fatal("a wait after the run was cancelled returned true")
	}
}
