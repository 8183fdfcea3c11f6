package sender

import (
	"context"
	"fmt"
	"hash/fnv"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/internal/pgtest"
	"github.com/hookrig/hookrig/reference/sender/delivery"
)

// openPGHarness is a Sender on the PostgreSQL database dsn with its
// attempt reports.
func openPGHarness(t *testing.T, dsn string, cfg Config) *harness {
	t.Helper()
	cfg.Store = dsn
	return openHarness(t, "", cfg)
}

func TestPGMigrations(t *testing.T) {
	dsn := pgtest.Start(t)
	// An empty database gets the schema; a current one is used as is.
	for range 2 {
		s, err := Open(Config{Store: dsn})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateEndpoint(EndpointSpec{URL: "http://127.0.0.1:1/hook"}); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	s, err := Open(Config{Store: dsn})
	if err != nil {
		t.Fatal(err)
	}
	if eps, err := s.Endpoints(); err != nil || len(eps) != 2 {
		t.Fatalf("endpoints after reopening: %d, %v; want the 2 created before", len(eps), err)
	}
	s.Close()

	// A database migrated by a newer hookrig is refused.
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `UPDATE hookrig_schema_version SET version = version + 1 WHERE component = $1`, pgComponent); err != nil {
		t.Fatal(err)
	}
	_, err = Open(Config{Store: dsn})
	if err == nil || !strings.Contains(err.Error(), "newer than this hookrig knows") {
		t.Fatalf("opening a newer schema: %v; want a refusal naming the newer schema", err)
	}

	if _, err := Open(Config{Store: dsn, DataDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("store and data directory together: %v; want a refusal", err)
	}
}

// attemptRow is one attempt as the database keeps it.
type attemptRow struct {
	id, instance, err string
	n                 int
	at, duration      int64
}

// pgAttempts reads every attempt, by event id, in attempt order.
func pgAttempts(t *testing.T, dsn string) map[string][]attemptRow {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), `SELECT e.id, a.instance, a.err, a.n, a.at, a.duration
		FROM hookrig_sender_attempts a JOIN hookrig_sender_events e USING (seq) ORDER BY e.seq, a.n`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]attemptRow{}
	for rows.Next() {
		var a attemptRow
		if err := rows.Scan(&a.id, &a.instance, &a.err, &a.n, &a.at, &a.duration); err != nil {
			t.Fatal(err)
		}
		out[a.id] = append(out[a.id], a)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkNoOverlap fails when an event's attempts overlap in time: one
// event in flight on two instances at once.
func checkNoOverlap(t *testing.T, attempts map[string][]attemptRow) {
	t.Helper()
	for id, as := range attempts {
		for k := 1; k < len(as); k++ {
			if end := as[k-1].at + as[k-1].duration; as[k].at < end {
				t.Errorf("event %s: attempt %d (instance %s) began %v before attempt %d (instance %s) ended",
					id, as[k].n, as[k].instance, time.Duration(end-as[k].at), as[k-1].n, as[k-1].instance)
			}
		}
	}
}

// exclusiveEndpoint answers webhooks and notes any webhook-id that
// arrives while a copy of it is still being answered.
type exclusiveEndpoint struct {
	mu       sync.Mutex
	inflight map[string]bool
	overlaps []string
}

func (x *exclusiveEndpoint) enter(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.inflight[id] {
		x.overlaps = append(x.overlaps, id)
	}
	x.inflight[id] = true
}

func (x *exclusiveEndpoint) leave(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.inflight, id)
}

// Two instances on one database: every event delivered once claimed by
// either, no event in flight on both at once (the attempt records and the
// endpoint agree), and ordered lanes keep their order across instances.
func TestPGTwoInstancesShareOneOutbox(t *testing.T) {
	dsn := pgtest.Start(t)
	x := &exclusiveEndpoint{inflight: map[string]bool{}}
	var orderMu sync.Mutex
	received := map[string][]string{} // key -> bodies acknowledged, in order
	fails := func(id string) bool { h := fnv.New32a(); h.Write([]byte(id)); return h.Sum32()%4 == 0 }
	e := newEndpoint(t, clock.Real{}, func(h hit, w http.ResponseWriter, r *http.Request) {
		x.enter(h.ID)
		defer x.leave(h.ID)
		if h.Attempt == 1 && fails(h.ID) {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if key := r.URL.Query().Get("lane"); key != "" {
			orderMu.Lock()
			received[h.Body] = append(received[h.Body], h.ID)
			orderMu.Unlock()
		}
		w.WriteHeader(http.StatusOK)
	})
	p := quickPolicy(5)
	p.Concurrency = 8
	a := openPGHarness(t, dsn, Config{Instance: "a", Workers: 8, Lease: time.Minute})
	b := openPGHarness(t, dsn, Config{Instance: "b", Workers: 8, Lease: time.Minute})
	plain := a.endpoint(t, e.srv.URL, p)
	op := *p
	op.Ordered = true
	ordered := b.endpoint(t, e.srv.URL+"?lane=1", &op)

	const plainEvents, keys, perKey = 200, 4, 15
	var specs []EventSpec
	for i := range plainEvents {
		specs = append(specs, ev(plain.ID, "", fmt.Sprintf(`{"n":%d}`, i)))
	}
	ids := a.enqueue(t, specs...)
	laneOrder := map[string][]string{}
	for i := range perKey {
		for k := range keys {
			body := fmt.Sprintf(`"key-%d"`, k) // the body names the lane, so the endpoint can group by it
			id := b.enqueue(t, EventSpec{Endpoint: ordered.ID, Type: "test.event", Key: fmt.Sprintf("k%d", k), Payload: []byte(body)})[0]
			laneOrder[body] = append(laneOrder[body], id)
			_ = i
		}
	}
	a.Start(context.Background())
	b.Start(context.Background())

	total := plainEvents + keys*perKey
	delivered := map[string]bool{}
	byInstance := map[string]int{}
	deadline := time.After(60 * time.Second)
	for len(delivered) < total {
		var r AttemptReport
		select {
		case r = <-a.reports:
			byInstance["a"]++
		case r = <-b.reports:
			byInstance["b"]++
		case <-deadline:
			t.Fatalf("%d of %d events delivered within 60s; stats %+v", len(delivered), total, a.Stats())
		}
		switch r.Decision {
		case delivery.Delivered:
			if delivered[r.EventID] {
				t.Errorf("event %s delivered twice", r.EventID)
			}
			delivered[r.EventID] = true
		case delivery.RetryAt:
		default:
			t.Fatalf("event %s: %v (%s); want delivered or retried", r.EventID, r.Decision, r.Reason)
		}
	}
	for _, id := range ids {
		if !delivered[id] {
			t.Errorf("event %s not delivered", id)
		}
	}
	if len(x.overlaps) > 0 {
		t.Errorf("the endpoint saw %d webhook-ids arrive while a copy was in flight: %v", len(x.overlaps), x.overlaps)
	}
	attempts := pgAttempts(t, dsn)
	checkNoOverlap(t, attempts)
	for id, as := range attempts {
		want := 1
		if fails(id) {
			want = 2
		}
		if len(as) != want {
			t.Errorf("event %s: %d attempts recorded; want %d", id, len(as), want)
		}
	}
	orderMu.Lock()
	for body, want := range laneOrder {
		if got := received[body]; !slices.Equal(got, want) {
			t.Errorf("lane %s acknowledged in order %v; want acceptance order %v", body, got, want)
		}
	}
	orderMu.Unlock()
	st := a.Stats()
	if st.Accepted != uint64(total) || st.Delivered != uint64(total) || st.Pending != 0 {
		t.Errorf("stats %+v; want %d accepted and delivered", st, total)
	}
	t.Logf("attempts recorded by instance: %v", byInstance)
}

// A 410 seen by one instance disables the endpoint for all: the other
// refuses new events for it and lists the dead letters; once it enables
// the endpoint and replays them, the first instance delivers them.
func TestPGGoneDisablesForEveryInstance(t *testing.T) {
	dsn := pgtest.Start(t)
	var gone sync.Mutex
	answer := http.StatusGone
	e := newEndpoint(t, clock.Real{}, func(h hit, w http.ResponseWriter, r *http.Request) {
		gone.Lock()
		defer gone.Unlock()
		w.WriteHeader(answer)
	})
	// a short lease: a re-reads the endpoints every third of it.
	a := openPGHarness(t, dsn, Config{Instance: "a", Workers: 1, Lease: 3 * time.Second})
	b := openPGHarness(t, dsn, Config{Instance: "b", Workers: 1})
	ep := a.endpoint(t, e.srv.URL, quickPolicy(3))
	ids := a.enqueue(t, ev(ep.ID, "", `1`), ev(ep.ID, "", `2`), ev(ep.ID, "", `3`))
	a.Start(context.Background())
	if r := a.report(t); r.Decision != delivery.DisableEndpoint {
		t.Fatalf("first attempt: %v; want the endpoint disabled", r.Decision)
	}

	_, err := b.Enqueue(context.Background(), []EventSpec{ev(ep.ID, "", `4`)})
	if ErrorCode(err) != ECONFLICT || !strings.Contains(err.Error(), "disabled") {
		t.Fatalf("another instance's ingest for the disabled endpoint: %v; want a conflict", err)
	}
	dlq, err := b.DLQ(0, 10)
	if err != nil || len(dlq) != len(ids) {
		t.Fatalf("dead letters seen by another instance: %v, %v; want all %d", dlq, err, len(ids))
	}
	for _, d := range dlq {
		if !strings.Contains(d.Reason, "410") {
			t.Errorf("dead letter %+v: want the 410 as reason", d)
		}
	}

	gone.Lock()
	answer = http.StatusOK
	gone.Unlock()
	if _, err := b.EnableEndpoint(ep.ID); err != nil {
		t.Fatal(err)
	}
	res, err := b.Replay(nil)
	if err != nil || len(res.IDs) != len(ids) {
		t.Fatalf("replay: %+v, %v; want %d replayed", res, err, len(ids))
	}
	for range ids {
		if r := a.report(t); r.Decision != delivery.Delivered {
			t.Fatalf("after the replay: %v; want delivered", r.Decision)
		}
	}
	if st := b.Stats(); st.Delivered != uint64(len(ids)) || st.Replayed != uint64(len(ids)) || st.DeadLettered != 0 {
		t.Errorf("stats %+v; want %d delivered after replay", st, len(ids))
	}
}
