package hookrigtest

import (
	"sync"
	"time"
)

// signal lets a test goroutine wait, with a deadline, for a condition on
// state another goroutine changes: each change closes the current
// channel, waking every waiter to look again. A sync.Cond cannot wait
// with a timeout.
type signal struct {
	mu      sync.Mutex
	changed chan struct{}
}

// update runs fn under the lock and wakes the waiters.
func (s *signal) update(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn()
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
}

// read runs fn under the lock.
func (s *signal) read(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn()
}

// wait returns true once done (run under the lock) holds, false if it
// still does not after timeout.
func (s *signal) wait(timeout time.Duration, done func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		if done() {
			s.mu.Unlock()
			return true
		}
		if s.changed == nil {
			s.changed = make(chan struct{})
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			var ok bool
			s.read(func() { ok = done() })
			return ok
		}
	}
}
