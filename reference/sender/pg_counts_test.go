package sender

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/internal/pgschema"
	"github.com/hookrig/hookrig/internal/pgtest"
	"github.com/hookrig/hookrig/reference/sender/delivery"
)

// rowCounts counts what the tables hold, row by row: what
// hookrig_sender_counts must agree with.
func rowCounts(t *testing.T, dsn string) counters {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var accepted, delivered, dead, replayed, attempts, interrupted int64
	if err := conn.QueryRow(context.Background(), `SELECT e.*, a.* FROM
		(SELECT count(*), count(*) FILTER (WHERE state = 1), count(*) FILTER (WHERE state = 2), coalesce(sum(replays), 0)
			FROM hookrig_sender_events) e,
		(SELECT count(*), count(*) FILTER (WHERE err = $1) FROM hookrig_sender_attempts) a`, string(delivery.ErrInterrupted)).
		Scan(&accepted, &delivered, &dead, &replayed, &attempts, &interrupted); err != nil {
		t.Fatal(err)
	}
	return counters{Accepted: uint64(accepted), Delivered: uint64(delivered), DeadLettered: uint64(dead),
		Replayed: uint64(replayed), Attempts: uint64(attempts), Interrupted: uint64(interrupted)}
}

// checkCounts compares the counts a fresh instance reads (Stats) with
// the rows, and with what the test expects.
func checkCounts(t *testing.T, dsn string, want counters) {
	t.Helper()
	rows := rowCounts(t, dsn)
	s, err := Open(Config{Store: dsn, Instance: "counter"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st := s.Stats()
	kept := counters{Accepted: st.Accepted, Delivered: st.Delivered, DeadLettered: st.DeadLettered,
		Replayed: st.Replayed, Attempts: st.Attempts, Interrupted: st.Interrupted}
	if kept != rows {
		t.Errorf("counts kept %+v; the rows count %+v", kept, rows)
	}
	if rows != want {
		t.Errorf("rows count %+v; want %+v", rows, want)
	}
	if st.Pending != st.Accepted-st.Delivered-st.DeadLettered {
		t.Errorf("stats %+v: pending is not accepted - delivered - dead-lettered", st)
	}
}

// Every way an event's state changes is counted as it changes: ingests
// (an id posted twice kept once), deliveries, retries, dead letters, a
// 410 that dead-letters what waits, a replay, a delete, and an attempt
// taken over after its lease expired.
func TestPGCountsFollowEveryChange(t *testing.T) {
	dsn := pgtest.Start(t)
	var mu sync.Mutex
	fails := map[string]int{} // body -> failures left; "gone" answers 410
	e := newEndpoint(t, clock.Real{}, func(h hit, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case h.Body == `"gone"`:
			w.WriteHeader(http.StatusGone)
		case fails[h.Body] > 0:
			fails[h.Body]--
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	fails[`"retried"`], fails[`"dead"`] = 1, 100
	h := openPGHarness(t, dsn, Config{Instance: "a", Workers: 2})
	ep := h.endpoint(t, e.srv.URL, quickPolicy(2))
	spec := ev(ep.ID, "", `"ok"`)
	spec.ID = "evt_twice"
	h.enqueue(t, spec, ev(ep.ID, "", `"retried"`), ev(ep.ID, "", `"dead"`))
	h.enqueue(t, spec) // the same id again: kept once
	h.Start(context.Background())
	h.untilFinal(t, 3)
	// ok: 1 attempt; retried: 2; dead: 2, dead-lettered.
	checkCounts(t, dsn, counters{Accepted: 3, Delivered: 2, DeadLettered: 1, Attempts: 5})

	mu.Lock()
	fails[`"dead"`] = 0
	mu.Unlock()
	if res, err := h.Replay(nil); err != nil || len(res.IDs) != 1 {
		t.Fatalf("replay: %+v, %v; want the dead letter replayed", res, err)
	}
	h.untilFinal(t, 1)
	checkCounts(t, dsn, counters{Accepted: 3, Delivered: 3, Replayed: 1, Attempts: 6})

	// A 410 dead-letters the event and what waits for its endpoint.
	gone := h.endpoint(t, e.srv.URL, quickPolicy(2))
	h.enqueue(t, ev(gone.ID, "", `"gone"`))
	h.untilFinal(t, 1)
	checkCounts(t, dsn, counters{Accepted: 4, Delivered: 3, DeadLettered: 1, Replayed: 1, Attempts: 7})
	h.Close()

	// Events waiting for a deleted endpoint are dead-lettered; an
	// attempt whose lease expired is recorded interrupted by whoever
	// takes it over: here, written as a crashed instance leaves it.
	s, err := Open(Config{Store: dsn, Instance: "b"})
	if err != nil {
		t.Fatal(err)
	}
	doomed, err := s.CreateEndpoint(EndpointSpec{URL: e.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enqueue(context.Background(), []EventSpec{ev(doomed.ID, "", "1"), ev(doomed.ID, "", "2")}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteEndpoint(doomed.ID); err != nil {
		t.Fatal(err)
	}
	ids, err := s.Enqueue(context.Background(), []EventSpec{ev(ep.ID, "", `"leased"`)})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `UPDATE hookrig_sender_events SET lease_owner = 'crashed', lease_until = 1, claim_n = 1, claim_at = 1
		WHERE id = $1`, ids[0]); err != nil {
		t.Fatal(err)
	}
	p := s.store.(*pgStore)
	if n, err := p.reap(context.Background()); err != nil || n != 1 {
		t.Fatalf("taking over the expired lease: %d, %v; want 1", n, err)
	}
	s.Close()
	checkCounts(t, dsn, counters{Accepted: 7, Delivered: 3, DeadLettered: 3, Replayed: 1, Attempts: 8, Interrupted: 1})
}

// migrationsUpTo is the sender's migrations up to version v: a database
// as an older hookrig left it.
func migrationsUpTo(t *testing.T, v int) fs.FS {
	t.Helper()
	names, err := fs.ReadDir(pgMigrations, "migrations")
	if err != nil || len(names) < v {
		t.Fatalf("migrations: %d, %v; want at least %d", len(names), err, v)
	}
	out := fstest.MapFS{}
	for _, n := range names[:v] {
		b, err := fs.ReadFile(pgMigrations, "migrations/"+n.Name())
		if err != nil {
			t.Fatal(err)
		}
		out["migrations/"+n.Name()] = &fstest.MapFile{Data: b}
	}
	return out
}

// A database holding events and attempts at version 1 is brought to
// version 2 at start: the counts start from what it holds, and go on
// from there.
func TestPGMigrationFrom1KeepsData(t *testing.T) {
	dsn := pgtest.Start(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := pgschema.Migrate(ctx, pool, migrationsUpTo(t, 1), "migrations", pgComponent); err != nil {
		t.Fatal(err)
	}
	// What a version-1 sender leaves: pending, delivered, dead-lettered
	// and replayed events, attempts, one of them interrupted.
	for _, q := range []string{
		`INSERT INTO hookrig_sender_endpoints (id, record) VALUES ('ep_1', '{"id":"ep_1","url":"http://127.0.0.1:1/hook","secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}')`,
		`INSERT INTO hookrig_sender_events (id, endpoint, type, key, payload, accepted_at, since, next_at, state, replays)
			SELECT 'evt_' || g, 'ep_1', 't', '', '{}', 1, 1, 1, g % 3, (g % 5 = 0)::int FROM generate_series(1, 30) g`,
		`INSERT INTO hookrig_sender_attempts (seq, n, instance, at, duration, status, err, detail)
			SELECT seq, 1, 'old', 1, 1, 0, CASE WHEN seq % 4 = 0 THEN 'interrupted' ELSE 'none' END, '' FROM hookrig_sender_events`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	before := rowCounts(t, dsn)
	want := counters{Accepted: 30, Delivered: 10, DeadLettered: 10, Replayed: 6, Attempts: 30, Interrupted: 7}
	if before != want {
		t.Fatalf("version 1 holds %+v; the test meant %+v", before, want)
	}

	s, err := Open(Config{Store: dsn, Instance: "new"})
	if err != nil {
		t.Fatal(err)
	}
	var version int
	if err := pool.QueryRow(ctx, `SELECT version FROM hookrig_schema_version WHERE component = $1`, pgComponent).Scan(&version); err != nil || version != 2 {
		t.Fatalf("schema version after the upgrade: %d, %v; want 2", version, err)
	}
	if _, err := s.Enqueue(ctx, []EventSpec{ev("ep_1", "", "1"), ev("ep_1", "", "2")}); err != nil {
		t.Fatal(err)
	}
	if evs, err := s.EventsPage(0, 100); err != nil || len(evs) != 32 {
		t.Fatalf("events after the upgrade: %d, %v; want the 30 kept and 2 new", len(evs), err)
	}
	s.Close()
	want.Accepted += 2
	checkCounts(t, dsn, want)
}

// A large request of the sender's own ids is copied (commitAlone): it
// answers as the one-statement path does. Its endpoints refusing keeps
// none of it; an id taken after all, or data the database refuses,
// falls back to the statement, which skips the id or fails alone.
func TestPGCopiedBatchAnswersAsTheStatement(t *testing.T) {
	dsn := pgtest.Start(t)
	ctx := context.Background()
	s, err := Open(Config{Store: dsn, Instance: "a"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	open, err := s.CreateEndpoint(EndpointSpec{URL: "http://127.0.0.1:1/hook"})
	if err != nil {
		t.Fatal(err)
	}
	shut, err := s.CreateEndpoint(EndpointSpec{URL: "http://127.0.0.1:1/hook"})
	if err != nil {
		t.Fatal(err)
	}
	batch := func(n int, ep string) []EventSpec {
		var specs []EventSpec
		for i := range n {
			specs = append(specs, ev(ep, fmt.Sprint(i), fmt.Sprint(i)))
		}
		return specs
	}
	ids, err := s.Enqueue(ctx, batch(pgGroupAlone+8, open.ID))
	if err != nil || len(ids) != pgGroupAlone+8 {
		t.Fatalf("a batch of %d: %d ids, %v", pgGroupAlone+8, len(ids), err)
	}

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `UPDATE hookrig_sender_endpoints SET disabled = true, disabled_reason = 'test' WHERE id = $1`, shut.ID); err != nil {
		t.Fatal(err)
	}
	mixed := batch(pgGroupAlone, open.ID)
	mixed[5].Endpoint = shut.ID
	if _, err := s.Enqueue(ctx, mixed); ErrorCode(err) != ECONFLICT || !strings.Contains(err.Error(), "events[5].endpoint") {
		t.Fatalf("a batch with an event for a disabled endpoint: %v; want a conflict naming events[5]", err)
	}

	bad := batch(pgGroupAlone, open.ID)
	bad[3].Key = "a\x00b"
	if _, err := s.Enqueue(ctx, bad); err == nil {
		t.Fatal("a batch with a NUL byte in a key was accepted; want it refused")
	}

	// The sender's own ids, one of them already kept: the statement
	// keeps the others and leaves that one as it was.
	p := s.store.(*pgStore)
	in, err := p.prepareIngest(batch(pgGroupAlone, open.ID), true)
	if err != nil {
		t.Fatal(err)
	}
	in.ids[7] = ids[0]
	in.types[7] = "changed"
	p.commitAlone(in)
	if err := <-in.done; err != nil {
		t.Fatalf("a batch with an id already kept: %v; want it accepted", err)
	}
	var n int
	var kept string
	if err := conn.QueryRow(ctx, `SELECT count(*), (SELECT type FROM hookrig_sender_events WHERE id = $1) FROM hookrig_sender_events`, ids[0]).
		Scan(&n, &kept); err != nil {
		t.Fatal(err)
	}
	if want := 2*pgGroupAlone + 8 - 1; n != want || kept == "changed" {
		t.Errorf("%d events kept, the first one's type %q; want %d and the first unchanged", n, kept, want)
	}
	checkCounts(t, dsn, counters{Accepted: uint64(n)})
}
