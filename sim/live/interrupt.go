package live

import "time"

// What a cancelled run does (a Ctrl-C): the load stops, the fault
// timeline stops with it (a "down" window that kept firing would only
// fail the retries the drain waits for), and the drain is cut to
// Options.InterruptDrain. The progress display hears of it once, at the
// moment, with the drain's real start and bound.

// beginDrain notes when the drain began and how long it may take, for
// the progress display.
func (l *live) beginDrain(start time.Time, bound time.Duration) {
	l.drainStart.Store(int64(start.Sub(l.t0)))
	l.drainBound.Store(int64(max(bound, time.Nanosecond)))
}

// interrupt stops the faults and tells the progress goroutine, once.
func (l *live) interrupt() {
	l.interruptOnce.Do(func() {
		l.proxy.SetRules(nil)
		l.interrupted.Store(true)
		l.interruptCh <- struct{}{} // buffered for this one send
	})
}
