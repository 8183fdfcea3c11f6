package main

import (
	"context"
	"runtime/metrics"
	"testing"
	"time"
)

// A tick with no collection since the previous one is due; one after a
// collection of the runtime's own, or the first, is not.
func TestIdleCollectorDue(t *testing.T) {
	var c idleCollector
	for i, step := range []struct {
		cycles uint64
		due    bool
	}{
		{5, false}, // first tick: nothing to compare with
		{9, false}, // the runtime collected meanwhile
		{9, true},
		{10, false}, // the collection the last tick made
		{10, true},
		{10, true},
	} {
		if got := c.due(step.cycles); got != step.due {
			t.Fatalf("tick %d with %d collections: due %v, want %v", i, step.cycles, got, step.due)
		}
	}
}

// On ticks with no collection between them, releaseIdleHeap collects and
// gives the free heap back.
func TestReleaseIdleHeapCollects(t *testing.T) {
	read := func() uint64 {
		s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	ticks := make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		releaseIdleHeap(ctx, ticks)
	}()
	before := read()
	ticks <- time.Time{} // the first: counts the collections so far
	ticks <- time.Time{} // none since: collects
	ticks <- time.Time{} // waits for the collection above to be done
	cancel()
	<-done
	after := read()
	if after <= before {
		t.Fatalf("collections %d before the ticks, %d after: releaseIdleHeap did not collect", before, after)
	}
}
