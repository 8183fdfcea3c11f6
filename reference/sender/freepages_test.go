package sender

import (
	"testing"
	"time"
)

// A release with no page written since the one before commits nothing:
// an idle sender neither commits nor syncs every sweep.
func TestReleaseFreeIdleCommitsNothing(t *testing.T) {
	h, _, e := startRetaining(t, t.TempDir(), time.Hour)
	h.enqueue(t, ev(e.ID, "", `{"n":1}`))
	h.untilFinal(t, 1)
	if err := h.ob.releaseFree(); err != nil { // after the writes above: a transaction
		t.Fatal(err)
	}
	before := h.ob.counters().Commits
	for range 3 {
		if err := h.ob.releaseFree(); err != nil {
			t.Fatal(err)
		}
	}
	if after := h.ob.counters().Commits; after != before {
		t.Fatalf("commits %d before three idle releases, %d after: an idle release committed", before, after)
	}
	h.enqueue(t, ev(e.ID, "", `{"n":2}`))
	h.untilFinal(t, 1)
	before = h.ob.counters().Commits
	if err := h.ob.releaseFree(); err != nil {
		t.Fatal(err)
	}
	if after := h.ob.counters().Commits; after != before+1 {
		t.Fatalf("commits %d before a release after new writes, %d after: want one more", before, after)
	}
}
