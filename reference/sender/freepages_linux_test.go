package sender

import (
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	bolt "go.etcd.io/bbolt"
)

// residentOutbox counts the outbox's pages in the sender's memory.
func residentOutbox(t *testing.T, h *harness) int {
	t.Helper()
	n := 0
	err := h.ob.db.View(func(tx *bolt.Tx) error {
		info := tx.DB().Info()
		in := residentPages(info.Data, tx.Size(), info.PageSize)
		if in == nil {
			t.Skip("/proc/self/pagemap cannot be read here")
		}
		for _, r := range in {
			if r {
				n++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Once retention removes a burst's events, their pages are free in the
// file; releaseFree drops them from the sender's memory, a long sweep's
// every releaseBatches batches and the rest after it, and what is left
// reads back whole (the file and the page cache keep every page).
func TestOutboxReleasesFreePages(t *testing.T) {
	h, fake, e := startRetaining(t, t.TempDir(), time.Hour)
	payload := `{"data":"` + strings.Repeat("x", 900) + `"}`
	enqueue := func(n int) []string {
		var ids []string
		for range n / 100 {
			specs := make([]EventSpec, 100)
			for i := range specs {
				specs[i] = ev(e.ID, "", payload)
			}
			ids = append(ids, h.enqueue(t, specs...)...)
		}
		return ids
	}
	const burst = 2400 // sweepBatch·releaseBatches and more: the sweep releases mid-way
	enqueue(burst)
	h.untilFinal(t, burst)
	fake.Advance(30 * time.Minute)
	kept := enqueue(200) // delivered later: retained past the sweep
	h.untilFinal(t, 200)
	// Read every record, as deliveries and lookups do: every page mapped in.
	if err := h.ob.view(func(tx *txb) error {
		return tx.events.ForEach(func(_, _ []byte) error { return nil })
	}); err != nil {
		t.Fatal(err)
	}
	if err := h.ob.releaseFree(); err != nil { // counts the pages allocated so far
		t.Fatal(err)
	}
	before := residentOutbox(t, h)
	fake.Advance(30*time.Minute + time.Nanosecond)
	if n := h.sweep(t); n != burst {
		t.Fatalf("swept %d, want the burst's %d", n, burst)
	}
	released := h.metrics.released
	var m dto.Metric
	if err := released.Write(&m); err != nil {
		t.Fatal(err)
	}
	if m.GetCounter().GetValue() == 0 {
		t.Fatalf("a sweep of %d batches released nothing on its way (every %d batches it should)", (burst+sweepBatch-1)/sweepBatch, releaseBatches)
	}
	if err := h.ob.releaseFree(); err != nil { // the last batches'
		t.Fatal(err)
	}
	after := residentOutbox(t, h)
	t.Logf("outbox pages resident: %d before the sweep, %d after it and releasing", before, after)
	// The burst's 2,400 events of 1 KB took some 700 pages; nearly all are
	// free once swept.
	if before-after < 300 {
		t.Fatalf("outbox pages resident %d before the sweep, %d after it and releasing: the swept burst's pages stayed", before, after)
	}
	m.Reset()
	if err := released.Write(&m); err != nil {
		t.Fatal(err)
	}
	if got := m.GetCounter().GetValue(); got < float64(before-after) {
		t.Fatalf("pages released counter %v, want at least the %d pages that left", got, before-after)
	}
	for _, id := range kept {
		if ev, err := h.Event(id); err != nil || ev.State != StateDelivered {
			t.Fatalf("event %s after releasing: %+v %v", id, ev, err)
		}
	}
	if err := h.ob.db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	}); err != nil {
		t.Fatalf("outbox after releasing: %v", err)
	}
}
