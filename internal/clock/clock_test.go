package clock

import (
	"testing"
	"time"
)

func TestFakeFiresInOrder(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := NewFake(start)
	late := f.NewTimer(3 * time.Second)
	early := f.NewTimer(time.Second)
	stopped := f.NewTimer(2 * time.Second)
	if !stopped.Stop() {
		t.Fatal("Stop on a pending timer should report true")
	}
	f.Advance(time.Second)
	select {
	case at := <-early.C():
		if !at.Equal(start.Add(time.Second)) {
			t.Fatalf("early fired at %v", at)
		}
	default:
		t.Fatal("early timer did not fire")
	}
	select {
	case <-late.C():
		t.Fatal("late timer fired too soon")
	default:
	}
	f.Advance(5 * time.Second)
	if at := <-late.C(); !at.Equal(start.Add(3 * time.Second)) {
		t.Fatalf("late fired at %v", at)
	}
	if f.Pending() != 0 {
		t.Fatalf("pending = %d, want 0", f.Pending())
	}
	if late.Stop() {
		t.Fatal("Stop on a fired timer should report false")
	}
	if got := f.Now(); !got.Equal(start.Add(6 * time.Second)) {
		t.Fatalf("Now = %v", got)
	}
}

func TestFakeTimerCreated(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	created := f.TimerCreated()
	done := make(chan struct{})
	go func() {
		<-f.NewTimer(time.Minute).C()
		close(done)
	}()
	<-created
	f.Advance(time.Minute)
	<-done
	if zero := f.NewTimer(0); len(zero.C()) != 1 {
		t.Fatal("a zero-duration timer should fire at once")
	}
}

func TestFakeTimerAt(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := NewFake(start)
	past := TimerAt(f, start.Add(-time.Second))
	if at := <-past.C(); !at.Equal(start) {
		t.Fatalf("a timer for the past fired with %v, want now (%v)", at, start)
	}
	now := TimerAt(f, start)
	if len(now.C()) != 1 {
		t.Fatal("a timer for now should fire at once")
	}
	later := TimerAt(f, start.Add(1500*time.Millisecond))
	f.Advance(time.Second)
	if len(later.C()) != 0 {
		t.Fatal("fired before its time")
	}
	f.Advance(time.Second)
	if at := <-later.C(); !at.Equal(start.Add(1500 * time.Millisecond)) {
		t.Fatalf("fired with %v", at)
	}
}

// wrapped hides Fake's NewTimerAt, as a wrapper that embeds a Clock does.
type wrapped struct{ Clock }

// TimerAt on a clock without NewTimerAt falls back to NewTimer from now.
func TestTimerAtFallsBack(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := NewFake(start)
	tm := TimerAt(wrapped{f}, start.Add(time.Second))
	f.Advance(time.Second)
	if at := <-tm.C(); !at.Equal(start.Add(time.Second)) {
		t.Fatalf("fired with %v", at)
	}
	if r := TimerAt(Real{}, time.Now().Add(-time.Hour)); r == nil {
		t.Fatal("no timer")
	} else {
		<-r.C() // in the past: fires at once
	}
}

// A timer set for a moment while another goroutine advances the clock past
// it has fired once the advance is done, whichever ran first. With
// NewTimer(at.Sub(Now())) an advance between the two calls set the timer
// a whole advance late: the wakeup was lost.
func TestTimerAtRacingAdvance(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := NewFake(start)
	for i := range 500 {
		at := f.Now().Add(time.Millisecond)
		set, advanced, go_ := make(chan Timer), make(chan struct{}), make(chan struct{})
		go func() { <-go_; set <- TimerAt(f, at) }()
		go func() { <-go_; f.Advance(time.Millisecond); close(advanced) }()
		close(go_)
		tm := <-set
		<-advanced
		select {
		case <-tm.C():
		default:
			t.Fatalf("round %d: the clock passed %v and the timer for it has not fired", i, at)
		}
	}
}

// advanceOnRead is a fake clock that moves on by a millisecond right after
// every reading: the worst case of a test's Advance landing between code
// reading the time and setting a timer from it.
type advanceOnRead struct{ *Fake }

func (a advanceOnRead) Now() time.Time {
	t := a.Fake.Now()
	a.Fake.Advance(time.Millisecond)
	return t
}

// TimerAt sets the timer for the moment itself: an advance between
// reading and setting (which set NewTimer(at.Sub(Now())) a millisecond
// late here) cannot move it.
func TestTimerAtIgnoresAdvanceAfterRead(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := NewFake(start)
	c := advanceOnRead{f}
	at := c.Now().Add(2 * time.Millisecond) // start + 2ms; the clock reads start + 1ms
	tm := TimerAt(c, at)
	f.Advance(time.Millisecond)
	select {
	case got := <-tm.C():
		if !got.Equal(at) {
			t.Fatalf("fired with %v, want %v", got, at)
		}
	default:
		t.Fatalf("the clock reached %v and the timer set for it has not fired", at)
	}
}

// Sleep and SleepUntil end when the clock gets there (true) or when done
// closes (false); nothing left to wait returns at once.
func TestSleep(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	if !Sleep(f, 0, nil) || !SleepUntil(f, time.Unix(0, 0), nil) || f.Pending() != 0 {
		t.Fatal("nothing to wait for should return true at once and leave no timer")
	}
	created := f.TimerCreated()
	got := make(chan bool)
	go func() { got <- SleepUntil(f, time.Unix(5, 0), nil) }()
	<-created
	f.Advance(5 * time.Second)
	if !<-got {
		t.Error("SleepUntil reported done closing")
	}
	done := make(chan struct{})
	created = f.TimerCreated()
	go func() { got <- Sleep(f, time.Hour, done) }()
	<-created
	close(done)
	if <-got || f.Pending() != 0 {
		t.Errorf("Sleep after done closed: still %d timers, or it reported the hour passed", f.Pending())
	}
}
