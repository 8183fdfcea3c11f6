package schedslice

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		slice time.Duration
		ok    bool
	}{
		{0, true},
		{Min, true},
		{time.Millisecond, true},
		{Max, true},
		{Min - 1, false},
		{Max + 1, false},
		{-time.Millisecond, false},
	} {
		err := Check(tc.slice)
		if (err == nil) != tc.ok {
			t.Errorf("Check(%v) = %v, want ok %v", tc.slice, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), tc.slice.String()) {
			t.Errorf("Check(%v) = %q: does not name the value", tc.slice, err)
		}
	}
	if err := Set(Min / 2); err == nil {
		t.Error("Set took a slice under the kernel's minimum")
	}
}

// TestSetEveryThread checks that every thread has the slice after Set,
// those the runtime starts afterwards included (they inherit it).
func TestSetEveryThread(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("only Linux keeps a slice per thread")
	}
	const slice = 300 * time.Microsecond
	if err := Set(slice); err != nil {
		t.Fatal(err)
	}
	got, err := Get()
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
	if got, err = Get(); err != nil {
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
