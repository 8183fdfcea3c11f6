//go:build linux

package loadgen

import (
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
