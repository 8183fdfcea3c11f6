package schedslice

import (
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// threadSlices returns the slice each thread of the process has, by thread id:
// the kernel's default unless one was asked for (Linux 6.12 and later
// report it), 0 on a kernel that keeps none.
func threadSlices() (map[int]time.Duration, error) {
	tids, err := threads()
	if err != nil {
		return nil, err
	}
	got := make(map[int]time.Duration, len(tids))
	for _, tid := range tids {
		a, err := unix.SchedGetAttr(tid, 0)
		if errors.Is(err, unix.ESRCH) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("scheduler slice of thread %d: %w", tid, err)
		}
		got[tid] = time.Duration(a.Runtime)
	}
	return got, nil
}

// TestSetEveryThread checks that every thread has the slice after Set,
// those the runtime starts afterwards included (they inherit it).
func TestSetEveryThread(t *testing.T) {
	const slice = 300 * time.Microsecond
	if err := Set(slice); err != nil {
		t.Fatal(err)
	}
	got, err := threadSlices()
	if err != nil {
		t.Fatal(err)
	}
	kept := false
	for _, s := range got {
		kept = kept || s != 0
	}
	if !kept {
		t.Skip("this kernel keeps no custom slice for fair tasks (EEVDF custom slices came in Linux 6.12)")
	}
	before := got
	// Goroutines locked to their threads and blocked make the runtime
	// start new threads for the rest: more of them than there are
	// threads, so that some must be new.
	release := make(chan struct{})
	locked := make(chan struct{})
	n := len(before) + 2
	for range n {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			locked <- struct{}{}
			<-release
		}()
	}
	for range n {
		<-locked
	}
	defer close(release)
	if got, err = threadSlices(); err != nil {
		t.Fatal(err)
	}
	started := 0
	for tid := range got {
		if _, ok := before[tid]; !ok {
			started++
		}
	}
	if started == 0 {
		t.Fatalf("no thread started after Set (%d before, %d after): nothing shows the slice is inherited", len(before), len(got))
	}
	for tid, s := range got {
		if s != slice {
			t.Errorf("thread %d: slice %v, want %v", tid, s, slice)
		}
	}
}
