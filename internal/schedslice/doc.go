// Package schedslice asks the Linux scheduler (EEVDF, kernel 6.12 and
// later) for a shorter time slice for every thread of the process: a
// latency hint, not a priority. A thread with a shorter slice gets an
// earlier deadline each time it wakes, so it runs sooner after its socket
// becomes readable, and is preempted sooner when it runs on; its share of
// the CPU stays what it was.
//
// Why a proxy wants it: each request crosses the proxy twice, and each
// crossing may wait on a run queue behind whatever else is on the cores.
// With the kernel's default slice hookrig chaos's threads waited 0.81 ms
// on average against nginx's workers' 0.34 ms beside it (perf sched
// latency), and forwarded fewer requests for that, not for more CPU.
package schedslice

import (
	"fmt"
	"time"
)

// Min and Max are the slices the kernel accepts; it clamps others.
const (
	Min = 100 * time.Microsecond
	Max = 100 * time.Millisecond
)

// Check says what is wrong with slice, nil if it is 0 (leave the kernel's
// default) or within [Min, Max].
func Check(slice time.Duration) error {
	if slice != 0 && (slice < Min || slice > Max) {
		return fmt.Errorf("scheduler slice %v: want 0 (the kernel's default) or from %v to %v", slice, Min, Max)
	}
	return nil
}
