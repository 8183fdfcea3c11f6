package hookrigtest_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// fakeT is a testing.TB that records failures instead of failing a real
// test, so a test can check that a helper fails a test and how, and an
// example can run a test body. It implements what the helpers call
// (Helper, Cleanup, Context, TempDir, Errorf, Fatalf); the embedded nil
// TB makes anything else panic. Fatalf stops the goroutine as the real
// one does, with runtime.Goexit: call the body through run.
type fakeT struct {
	testing.TB
	mu       sync.Mutex
	errors   []string
	fatal    bool
	cleanups []func()
	ctx      context.Context
}

func (f *fakeT) Helper() {}

func (f *fakeT) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

func (f *fakeT) Context() context.Context { return f.ctx }

func (f *fakeT) TempDir() string {
	dir, err := os.MkdirTemp("", "hookrigtest-")
	if err != nil {
		f.Fatalf("TempDir: %v", err)
	}
	f.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func (f *fakeT) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

func (f *fakeT) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	f.mu.Lock()
	f.fatal = true
	f.mu.Unlock()
	runtime.Goexit()
}

// run calls body with f on a goroutine of its own, so that a Fatalf ends
// that goroutine and not the caller's, then runs the cleanups, last
// registered first, as a test's end does.
func (f *fakeT) run(body func(t testing.TB)) {
	ctx, cancel := context.WithCancel(context.Background())
	f.ctx = ctx
	done := make(chan struct{})
	go func() {
		defer close(done)
		body(f)
	}()
	<-done
	cancel()
	f.mu.Lock()
	fns := slices.Clone(f.cleanups)
	f.cleanups = nil
	f.mu.Unlock()
	for _, fn := range slices.Backward(fns) {
		fn()
	}
}

// asTest runs body as an example's test function: the helpers get a
// testing.TB, and a failure is printed (so the example's output check
// shows it).
func asTest(body func(t testing.TB)) {
	f := &fakeT{}
	f.run(body)
	for _, e := range f.errors {
		fmt.Println("FAIL:", e)
	}
}
