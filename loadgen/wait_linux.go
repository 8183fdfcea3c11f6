//go:build linux

package loadgen

import (
	"context"
	"os"
	"syscall"
	"time"
	"unsafe"

	"github.com/hookrig/hookrig/internal/clock"
)

// timerfdWaiter waits on a Linux timerfd registered with Go's netpoller.
// Go's own timers wake up to a millisecond late when the process is idle
// (the poller sleeps in whole milliseconds), which would pace 2,000 req/s as
// pairs every millisecond; a timerfd wakes the poller at the nanosecond it
// was set for, so pacing stays sub-millisecond. Only used when the run's
// clock tells real time (Config.RealTime): it waits on CLOCK_MONOTONIC, the
// clock the real clock's readings are measured on.
type timerfdWaiter struct {
	clk  clock.Clock
	mono timerClock // the timer is set to moments, as the poll loop's
	spec itimerspec
	f    *os.File
	rc   syscall.RawConn
	fd   uintptr
	stop func() bool
	buf  [8]byte
}

type itimerspec struct{ interval, value syscall.Timespec }

func newWaiter(ctx context.Context, clk clock.Clock, realTime bool) waiter {
	if !realTime {
		return &clockWaiter{ctx: ctx, clk: clk}
	}
	fd, _, errno := syscall.Syscall(syscall.SYS_TIMERFD_CREATE, 1 /* CLOCK_MONOTONIC */, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errno != 0 {
		return &clockWaiter{ctx: ctx, clk: clk}
	}
	f := os.NewFile(fd, "timerfd")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return &clockWaiter{ctx: ctx, clk: clk}
	}
	w := &timerfdWaiter{clk: clk, f: f, rc: rc, fd: fd}
	if !w.mono.sync(clk) {
		f.Close()
		return &clockWaiter{ctx: ctx, clk: clk}
	}
	// Cancelling the run wakes a wait in progress.
	w.stop = context.AfterFunc(ctx, func() { f.SetReadDeadline(time.Unix(1, 0)) })
	return w
}

func (w *timerfdWaiter) wait(until time.Time) bool {
	if !until.After(w.clk.Now()) {
		return true
	}
	if !w.mono.arm(w.fd, &w.spec, until) {
		return false
	}
	var errno syscall.Errno
	err := w.rc.Read(func(fd uintptr) bool {
		_, _, errno = syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&w.buf[0])), 8)
		return errno != syscall.EAGAIN && errno != syscall.EINTR
	})
	return err == nil && errno == 0
}

func (w *timerfdWaiter) close() {
	w.stop()
	w.f.Close()
}

// timerAbstime is TFD_TIMER_ABSTIME: the timer's value is a moment of
// its clock, not a delay.
const timerAbstime = 1

// timerClock maps the run's clock onto CLOCK_MONOTONIC, the timer's, so
// that the timer is set to a moment rather than a delay: a delay would
// need a fresh reading of the clock before each wait, and would still
// move with the time between that reading and the system call.
type timerClock struct {
	at   time.Time // a reading of the run's clock
	base int64     // CLOCK_MONOTONIC in ns, read right after at
}

// sync pairs a reading of clk with one of CLOCK_MONOTONIC, the closest of
// three tries. The monotonic reading comes after clk's, so the timer
// fires at most that gap (under a microsecond) late, never early.
func (c *timerClock) sync(clk clock.Clock) bool {
	best := time.Duration(-1)
	for range 3 {
		var ts syscall.Timespec
		t := clk.Now()
		if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 1 /* CLOCK_MONOTONIC */, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
			return false
		}
		if d := clk.Now().Sub(t); best < 0 || d < best {
			best, c.at, c.base = d, t, ts.Nano()
		}
	}
	return true
}

// mono is t on CLOCK_MONOTONIC, in ns.
func (c *timerClock) mono(t time.Time) int64 { return c.base + int64(t.Sub(c.at)) }

// arm sets the timerfd fd to expire at until, a moment of the run's
// clock, through spec (the caller's, so that no call allocates); false if
// the kernel refused.
func (c *timerClock) arm(fd uintptr, spec *itimerspec, until time.Time) bool {
	spec.value = syscall.NsecToTimespec(c.mono(until))
	_, _, e := syscall.RawSyscall6(syscall.SYS_TIMERFD_SETTIME, fd, timerAbstime, uintptr(unsafe.Pointer(spec)), 0, 0, 0)
	return e == 0
}
