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
