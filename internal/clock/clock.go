// Package clock is the seam through which hookrig's live components read
// time. Library code takes a Clock; only cmd/hookrig hands out Real, and
// tests hand out a Fake they advance by hand, so nothing waits on the wall
// clock to test pacing, retries or fault windows.
package clock

import (
	"sort"
	"sync"
	"time"
)

// Clock tells the time and waits.
type Clock interface {
	Now() time.Time
	// NewTimer fires once, d from now, on the returned channel.
	NewTimer(d time.Duration) Timer
}

// absoluteTimer is a Clock that can also set a timer for a moment rather
// than a duration from now. Use it through TimerAt.
type absoluteTimer interface {
	// NewTimerAt fires once, at t (at once if t is not after now).
	NewTimerAt(t time.Time) Timer
}

// TimerAt returns a timer that fires when c reads t. Code that waits for a
// moment (a retry due at 12:00:05) should call this rather than
// c.NewTimer(t.Sub(c.Now())): between that Now and that NewTimer a fake
// clock may be advanced by a test, and the timer, set from the old time,
// then fires a whole advance late, or never if nothing advances again. A
// clock that implements absoluteTimer (Real, Fake) reads its time and sets
// the timer in one step. Other clocks (a wrapper that embeds a Clock, say)
// get the two-step form: with real time the gap is scheduling delay, not a
// lost wakeup; a wrapper around a Fake should implement absoluteTimer.
func TimerAt(c Clock, t time.Time) Timer {
	if a, ok := c.(absoluteTimer); ok {
		return a.NewTimerAt(t)
	}
	return c.NewTimer(t.Sub(c.Now()))
}

// Sleep waits d on c. It reports false if done closed first (a nil done
// never does); d <= 0 returns true at once.
func Sleep(c Clock, d time.Duration, done <-chan struct{}) bool {
	if d <= 0 {
		return true
	}
	return sleep(c.NewTimer(d), done)
}

// SleepUntil waits until c reads t (set as TimerAt sets it); false if done
// closed first.
func SleepUntil(c Clock, t time.Time, done <-chan struct{}) bool {
	return sleep(TimerAt(c, t), done)
}

func sleep(t Timer, done <-chan struct{}) bool {
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-done:
		return false
	}
}

// Timer is the part of *time.Timer that hookrig uses.
type Timer interface {
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it was
	// still pending.
	Stop() bool
}

// Real is the wall clock.
type Real struct{}

var (
	_ absoluteTimer = Real{}
	_ absoluteTimer = (*Fake)(nil)
)

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// NewTimer wraps time.NewTimer.
func (Real) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

// NewTimerAt wraps time.NewTimer(time.Until(t)).
func (Real) NewTimerAt(t time.Time) Timer { return realTimer{time.NewTimer(time.Until(t))} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }

// Fake is a clock that moves only when told to. The zero value is not
// usable; create one with NewFake.
type Fake struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
	// waiters are woken whenever a timer is created, so a test can wait
	// for the code under test to start waiting before advancing.
	waiters []chan struct{}
}

// NewFake returns a fake clock reading start.
func NewFake(start time.Time) *Fake { return &Fake{now: start} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTimer returns a timer that fires when Advance reaches d from now.
func (f *Fake) NewTimer(d time.Duration) Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.timerAt(f.now.Add(d))
}

// NewTimerAt returns a timer that fires when Advance reaches t; reading
// the time and setting the timer happen under one lock, so an Advance in
// between cannot be missed.
func (f *Fake) NewTimerAt(t time.Time) Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.timerAt(t)
}

// timerAt sets a timer for at. Caller holds mu.
func (f *Fake) timerAt(at time.Time) Timer {
	t := &fakeTimer{f: f, at: at, c: make(chan time.Time, 1)}
	if !at.After(f.now) {
		t.c <- f.now
		t.fired = true
	} else {
		f.timers = append(f.timers, t)
	}
	for _, w := range f.waiters {
		close(w)
	}
	f.waiters = nil
	return t
}

// Advance moves the clock forward by d and fires every timer due by then,
// in deadline order.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	sort.SliceStable(f.timers, func(i, j int) bool { return f.timers[i].at.Before(f.timers[j].at) })
	kept := f.timers[:0]
	for _, t := range f.timers {
		if !t.at.After(f.now) {
			t.fired = true
			t.c <- t.at
			continue
		}
		kept = append(kept, t)
	}
	f.timers = kept
}

// Pending returns how many timers are waiting to fire.
func (f *Fake) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}

// TimerCreated returns a channel closed the next time a timer is created:
// a test waits on it instead of sleeping until the code under test blocks.
func (f *Fake) TimerCreated() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := make(chan struct{})
	f.waiters = append(f.waiters, c)
	return c
}

type fakeTimer struct {
	f     *Fake
	at    time.Time
	c     chan time.Time
	fired bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	if t.fired {
		return false
	}
	for i, x := range t.f.timers {
		if x == t {
			t.f.timers = append(t.f.timers[:i], t.f.timers[i+1:]...)
			return true
		}
	}
	return false
}
