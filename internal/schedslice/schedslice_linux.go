package schedslice

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Set asks for slice on every thread of the process; 0 does nothing.
// Threads the Go runtime starts later are cloned from these and inherit
// it. Each thread keeps its policy and nice value; threads with a policy
// other than the fair ones (SCHED_OTHER, SCHED_BATCH), whose sched_runtime
// means something else, are left alone. It is a hint: a kernel without
// custom slices (before 6.12) accepts it and keeps its default.
func Set(slice time.Duration) error {
	if err := Check(slice); err != nil {
		return err
	}
	if slice == 0 {
		return nil
	}
	// Twice: a thread the runtime started while the first pass ran was
	// cloned from one that may not have had the slice yet.
	for range 2 {
		tids, err := threads()
		if err != nil {
			return err
		}
		for _, tid := range tids {
			if err := setThread(tid, slice); err != nil {
				return err
			}
		}
	}
	return nil
}

func threads() ([]int, error) {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, fmt.Errorf("scheduler slice: %w", err)
	}
	tids := make([]int, 0, len(tasks))
	for _, t := range tasks {
		if tid, err := strconv.Atoi(t.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}

func setThread(tid int, slice time.Duration) error {
	a, err := unix.SchedGetAttr(tid, 0)
	if err == nil {
		if a.Policy != unix.SCHED_NORMAL && a.Policy != unix.SCHED_BATCH {
			return nil
		}
		a.Flags &= unix.SCHED_FLAG_RESET_ON_FORK // keep only what the set call takes
		a.Runtime = uint64(slice)
		err = unix.SchedSetAttr(tid, a, 0)
	}
	if err == nil || errors.Is(err, unix.ESRCH) { // ESRCH: the thread exited since it was listed
		return nil
	}
	return fmt.Errorf("scheduler slice %v for thread %d: %w", slice, tid, err)
}
