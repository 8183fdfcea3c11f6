package sender

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
	bolt "go.etcd.io/bbolt"
)

// openRetaining opens a sender that keeps delivered events for retain and
// sweeps only when the test says (its own loop waits for ever).
func openRetaining(t *testing.T, dir string, fake *clock.Fake, retain time.Duration) *harness {
	t.Helper()
	h := openHarness(t, dir, Config{Clock: fake, Retain: retain})
	h.sweepEvery = 1000 * time.Hour
	return h
}

// startRetaining starts a sender retaining for retain (sweeping when the
// test says) with one endpoint that acknowledges everything.
func startRetaining(t *testing.T, dir string, retain time.Duration) (*harness, *clock.Fake, Endpoint) {
	t.Helper()
	fake := clock.NewFake(t0)
	ep := newEndpoint(t, fake, nil)
	h := openRetaining(t, dir, fake, retain)
	e := h.endpoint(t, ep.srv.URL, quickPolicy(1))
	h.Start(context.Background())
	return h, fake, e
}

// sweep runs the sweeper once at the fake clock's time.
func (h *harness) sweep(t *testing.T) int {
	t.Helper()
	n, err := h.ob.sweepDue(h.clock.Now(), h.cfg.Retain, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// bucketLen counts a bucket's keys.
func (h *harness) bucketLen(t *testing.T, name string) int {
	t.Helper()
	n := 0
	err := h.ob.view(func(tx *txb) error {
		return tx.tx.Bucket([]byte(name)).ForEach(func(_, _ []byte) error { n++; return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Delivered events leave the outbox once retained for Retain, with their
// attempts and id; the API then answers 404 naming retention. Dead
// letters stay until replayed; the counters stay exact.
func TestRetentionRemovesDeliveredEvents(t *testing.T) {
	fake := clock.NewFake(t0)
	var healthy atomic.Bool
	good := newEndpoint(t, fake, nil)
	bad := newEndpoint(t, fake, func(_ hit, w http.ResponseWriter, _ *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(500)
		}
	})
	h := openRetaining(t, t.TempDir(), fake, time.Hour)
	eg := h.endpoint(t, good.srv.URL, quickPolicy(1))
	eb := h.endpoint(t, bad.srv.URL, quickPolicy(1))
	h.Start(context.Background())
	var specs []EventSpec
	for i := range 10 {
		specs = append(specs, ev(eg.ID, "", fmt.Sprintf(`{"n":%d}`, i)))
	}
	delivered := h.enqueue(t, specs...)
	dead := h.enqueue(t, ev(eb.ID, "", `{"dead":1}`), ev(eb.ID, "", `{"dead":2}`))
	h.untilFinal(t, 12)

	fake.Advance(59 * time.Minute)
	if n := h.sweep(t); n != 0 {
		t.Fatalf("swept %d events delivered 59m ago with a retention of 1h", n)
	}
	if e, err := h.Event(delivered[0]); err != nil || e.State != StateDelivered {
		t.Fatalf("event before its retention ends: %+v %v", e, err)
	}
	fake.Advance(time.Minute + time.Nanosecond)
	if n := h.sweep(t); n != 10 {
		t.Fatalf("swept %d events, want the 10 delivered", n)
	}
	if st := h.Stats(); st.Accepted != 12 || st.Delivered != 10 || st.DeadLettered != 2 || st.Pending != 0 || st.Attempts != 12 || st.Removed != 10 {
		t.Fatalf("stats after the sweep: %+v", st)
	}
	_, err := h.Event(delivered[3])
	var e *Error
	if !errors.As(err, &e) || e.Code != ENOTFOUND || !strings.Contains(err.Error(), "removed (retention)") {
		t.Fatalf("a removed event: %v", err)
	}
	rec := httptest.NewRecorder()
	h.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/events/"+delivered[3], nil))
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "delivered more than 1h0m0s ago and removed (retention)") {
		t.Fatalf("GET a removed event: %d %s", rec.Code, rec.Body)
	}
	for _, b := range []string{bEvents, bIDs, bState, bAttempts, bSettled} {
		if n := h.bucketLen(t, b); n != 2 && !(b == bSettled && n == 0) {
			t.Fatalf("bucket %s holds %d keys after the sweep: want the 2 dead letters' only", b, n)
		}
	}
	// Dead letters are kept however old; once replayed and delivered,
	// they are retained like the rest.
	fake.Advance(24 * time.Hour)
	if n := h.sweep(t); n != 0 {
		t.Fatalf("swept %d dead letters", n)
	}
	if dlq, err := h.DLQ(0, 10); err != nil || len(dlq) != 2 || dlq[0].ID != dead[0] {
		t.Fatalf("dead letters after a day: %+v %v", dlq, err)
	}
	healthy.Store(true)
	if _, err := h.Replay(nil); err != nil {
		t.Fatal(err)
	}
	h.untilFinal(t, 2)
	fake.Advance(time.Hour + time.Nanosecond)
	if n := h.sweep(t); n != 2 {
		t.Fatalf("swept %d replayed events, want 2", n)
	}
	if st := h.Stats(); st.Accepted != 12 || st.Delivered != 12 || st.DeadLettered != 0 || st.Replayed != 2 || st.Attempts != 14 || st.Removed != 12 {
		t.Fatalf("stats after the replays' sweep: %+v", st)
	}
	for _, b := range []string{bEvents, bIDs, bState, bAttempts, bSettled, bPending, bInflight, bDLQ} {
		if n := h.bucketLen(t, b); n != 0 {
			t.Fatalf("bucket %s holds %d keys: every event was removed", b, n)
		}
	}
	// A removed id is new again: retention is also how long ingest
	// remembers an id.
	if ids := h.enqueue(t, EventSpec{ID: delivered[0], Endpoint: eg.ID, Type: "test.event", Payload: []byte(`1`)}); ids[0] != delivered[0] {
		t.Fatalf("re-enqueued as %v", ids)
	}
	if st := h.Stats(); st.Accepted != 13 {
		t.Fatalf("a removed id given again was not accepted: %+v", st)
	}
}

// At a steady rate with retention, the outbox stops growing: bbolt
// reuses the pages the sweeps free.
func TestRetentionKeepsTheOutboxSize(t *testing.T) {
	h, fake, e := startRetaining(t, t.TempDir(), time.Hour)
	payload := `{"data":"` + strings.Repeat("x", 900) + `"}`
	const rounds, perRound = 8, 500
	var sizes []int64
	for round := range rounds {
		for range perRound / 100 {
			specs := make([]EventSpec, 100)
			for i := range specs {
				specs[i] = ev(e.ID, "", payload)
			}
			h.enqueue(t, specs...)
		}
		h.untilFinal(t, perRound)
		fake.Advance(time.Hour + time.Nanosecond)
		if n := h.sweep(t); n != perRound {
			t.Fatalf("round %d: swept %d, want %d", round, n, perRound)
		}
		// The data's extent (the file itself is grown in steps of
		// 16 MB and would hide growth below that).
		var size int64
		if err := h.ob.db.View(func(tx *bolt.Tx) error { size = tx.Size(); return nil }); err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, size)
	}
	if st := h.Stats(); st.Delivered != rounds*perRound || st.Removed != rounds*perRound {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("outbox size by round: %v", sizes)
	// The first rounds size the file; after that it holds, give or take
	// a few pages (a page freed by a sweep is free only once no read
	// transaction can still see it, so a concurrent read may make the
	// writer take a new one). Without reuse, each round adds about what
	// the first one took.
	if sizes[rounds-1] > sizes[2]+sizes[0]/10 {
		t.Fatalf("outbox size by round %v: it grew by more than a tenth of a round's data after round 3, freed pages are not reused", sizes)
	}
}

// The buckets keyed in time order fill the pages they split (bbolt's
// default leaves each half empty when every key goes to the right end),
// so the outbox, a file mapped into the sender's memory, takes about the
// pages its rows need.
func TestOutboxPacksTimeOrderedBuckets(t *testing.T) {
	h, _, e := startRetaining(t, t.TempDir(), time.Hour)
	payload := `{"data":"` + strings.Repeat("x", 250) + `"}`
	const batches = 20
	for range batches {
		specs := make([]EventSpec, 100)
		for i := range specs {
			specs[i] = ev(e.ID, "", payload)
		}
		h.enqueue(t, specs...)
	}
	h.untilFinal(t, batches*100)
	err := h.ob.view(func(tx *txb) error {
		// Each event was delivered at its first attempt, which its state
		// record holds: the attempts bucket stays empty.
		if n := tx.attempts.Stats().KeyN; n != 0 {
			return fmt.Errorf("bucket %s: %d keys, want none: an attempt that delivers an event at once is kept in its state", bAttempts, n)
		}
		for _, name := range []string{bEvents, bState, bSettled} {
			st := tx.tx.Bucket([]byte(name)).Stats()
			if st.KeyN != batches*100 || st.LeafPageN < 4 {
				return fmt.Errorf("bucket %s: %d keys in %d leaf pages, want %d keys over several pages", name, st.KeyN, st.LeafPageN, batches*100)
			}
			fill := float64(st.LeafInuse) / float64(st.LeafAlloc)
			t.Logf("bucket %s: leaves %.0f%% used", name, 100*fill)
			if fill < 0.7 {
				return fmt.Errorf("bucket %s: leaves %.0f%% used (%d of %d bytes), want at least 70%%", name, 100*fill, st.LeafInuse, st.LeafAlloc)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A file written before retention existed has its delivered events
// indexed when opened, so they are retained like new ones.
func TestRetentionIndexesAnOlderFile(t *testing.T) {
	fake := clock.NewFake(t0)
	ep := newEndpoint(t, fake, nil)
	dir := t.TempDir()
	h := openHarness(t, dir, Config{Clock: fake})
	e := h.endpoint(t, ep.srv.URL, quickPolicy(1))
	h.Start(context.Background())
	h.enqueue(t, ev(e.ID, "", `1`), ev(e.ID, "", `2`), ev(e.ID, "", `3`))
	h.untilFinal(t, 3)
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	// Make it the file an older sender left: no index, no mark.
	db, err := bolt.Open(filepath.Join(dir, OutboxFile), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket([]byte(bSettled)); err != nil {
			return err
		}
		return tx.Bucket([]byte(bMeta)).Delete([]byte(settledIndexKey))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	fake.Advance(2 * time.Hour)
	h2 := openRetaining(t, dir, fake, time.Hour)
	if n := h2.sweep(t); n != 3 {
		t.Fatalf("swept %d of an older file's 3 delivered events", n)
	}
	if st := h2.Stats(); st.Delivered != 3 || st.Removed != 3 || st.Accepted != 3 {
		t.Fatalf("stats %+v", st)
	}
}

// A sweep is one transaction like any other write: after a crash the
// reopened outbox has the removals and the counts of the last commit,
// and sweeps on.
func TestRetentionSurvivesACrash(t *testing.T) {
	fake := clock.NewFake(t0)
	ep := newEndpoint(t, fake, nil)
	dir := t.TempDir()
	h := openRetaining(t, dir, fake, time.Hour)
	e := h.endpoint(t, ep.srv.URL, quickPolicy(1))
	h.Start(context.Background())
	first := h.enqueue(t, ev(e.ID, "", `1`), ev(e.ID, "", `2`))
	h.untilFinal(t, 2)
	fake.Advance(30 * time.Minute)
	later := h.enqueue(t, ev(e.ID, "", `3`))
	h.untilFinal(t, 1)
	fake.Advance(31 * time.Minute)
	if n := h.sweep(t); n != 2 {
		t.Fatalf("swept %d, want the 2 delivered an hour ago", n)
	}
	h.Crash()

	h2 := openRetaining(t, dir, fake, time.Hour)
	if st := h2.Stats(); st.Accepted != 3 || st.Delivered != 3 || st.Removed != 2 || st.Pending != 0 {
		t.Fatalf("stats after the crash: %+v", st)
	}
	if _, err := h2.Event(first[0]); err == nil {
		t.Fatal("a removed event is back after the crash")
	}
	if e, err := h2.Event(later[0]); err != nil || e.State != StateDelivered {
		t.Fatalf("the event still retained: %+v %v", e, err)
	}
	fake.Advance(30 * time.Minute)
	if n := h2.sweep(t); n != 1 {
		t.Fatalf("swept %d after the restart, want 1", n)
	}
}
