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
	// Cancelling the run wakes a wait in progress.
	w.stop = context.AfterFunc(ctx, func() { f.SetReadDeadline(time.Unix(1, 0)) })
	return w
}

func (w *timerfdWaiter) wait(until time.Time) bool {
	d := until.Sub(w.clk.Now())
	if d <= 0 {
		return true
	}
	spec := itimerspec{value: syscall.NsecToTimespec(int64(d))}
	if _, _, errno := syscall.RawSyscall6(syscall.SYS_TIMERFD_SETTIME, w.fd, 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0); errno != 0 {
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
