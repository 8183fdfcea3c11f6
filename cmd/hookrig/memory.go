package main

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// idleCollectEvery is how often a process that has not collected garbage
// meanwhile collects and gives its free heap back (releaseIdleHeap).
const idleCollectEvery = 30 * time.Second

// releaseIdleHeap, on each tick until ctx ends, collects garbage and
// gives the free heap back to the OS (debug.FreeOSMemory) if the runtime
// has not collected since the previous tick.
//
// Why: a server at a steady rate allocates slowly (the receiver some
// 60 KB/s at 500 webhooks/s, the chaos proxy 70 KB/s, the load generator
// less), so its heap reaches the collector's goal (twice the live heap)
// every minute or two, or never and is collected by the runtime's forced
// collection every 2 minutes, and the runtime keeps the pages freed up
// to about the goal: its RSS climbed for the first 3 to 5 minutes of a
// soak, and would keep the top of a burst's heap for good. (gctrace, a
// 10-minute soak at 500 events/s: the receiver collected at 32, 152, 272,
// 393 and 513 s, its heap 24 MB at each over 17 MB live; the chaos proxy
// at 36, 99, 180 and 260 s, its heap rising 7, 9, 10 MB over 4 MB live.)
// A collection every 30 s bounds the heap's pages to the live heap and
// 30 s of garbage (the receiver's 19 MB), reached within the first
// minute, and gives back what a burst left within 30 s. A process that
// allocates fast (the sender collects several times a second) is left
// alone; one that collects here pays a collection of its live heap every
// 30 s, a few ms of CPU.
func releaseIdleHeap(ctx context.Context, ticks <-chan time.Time) {
	sample := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	cycles := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	var idle idleCollector
	idle.due(cycles())
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
		}
		if idle.due(cycles()) {
			debug.FreeOSMemory()
			idle.due(cycles())
		}
	}
}

// idleCollector says, from the runtime's count of collections at each
// tick, whether none ran since the previous tick.
type idleCollector struct {
	last uint64
	seen bool
}

func (c *idleCollector) due(cycles uint64) bool {
	due := c.seen && cycles == c.last
	c.last, c.seen = cycles, true
	return due
}
