package receiver

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/internal/pgtest"
	"github.com/jackc/pgx/v5"
)

// roundRobin is a load balancer in front of receiver instances: request n
// goes to target n mod len(targets).
func roundRobin(t *testing.T, targets ...string) *httptest.Server {
	t.Helper()
	var proxies []*httputil.ReverseProxy
	for _, s := range targets {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		proxies = append(proxies, httputil.NewSingleHostReverseProxy(u))
	}
	var n atomic.Uint64
	lb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		proxies[(n.Add(1)-1)%uint64(len(proxies))].ServeHTTP(w, req)
	}))
	t.Cleanup(lb.Close)
	return lb
}

// postVia sends a signed webhook through base (a balancer) instead of the
// rig's own server.
func (g *rig) postVia(base, id string) answer {
	g.t.Helper()
	req := g.webhookReq("/webhooks", id, []byte(`{"type":"test"}`))
	u, err := url.Parse(base + "/webhooks")
	if err != nil {
		g.t.Fatal(err)
	}
	req.URL, req.Host = u, u.Host
	return g.do(req)
}

// TestSharedDedupeAcrossInstances: two receivers on one dedupe database
// behind a round-robin balancer; every id is sent three times in a row, so
// its copies land on alternating instances, and each repeat must be a
// duplicate whichever instance it reaches.
func TestSharedDedupeAcrossInstances(t *testing.T) {
	dsn := pgtest.Start(t)
	fake := clock.NewFake(t0)
	a := newRig(t, Config{Clock: fake, Dedupe: DedupeConfig{DSN: dsn}})
	b := newRig(t, Config{Clock: fake, Dedupe: DedupeConfig{DSN: dsn}})
	lb := roundRobin(t, a.srv.URL, b.srv.URL)
	const ids, copies = 200, 3
	for i := range ids {
		id := "msg_shared_" + strconv.Itoa(i)
		for c := range copies {
			ans := a.postVia(lb.URL, id)
			want := AckDuplicate
			if c == 0 {
				want = AckFresh
			}
			if ans.Status != http.StatusOK || string(ans.Body) != want {
				t.Fatalf("%s copy %d: %d %q, want 200 %q", id, c+1, ans.Status, ans.Body, want)
			}
		}
	}
	sa, sb := a.r.Stats(), b.r.Stats()
	checkBalance(t, sa)
	checkBalance(t, sb)
	if got := sa.Unique + sb.Unique; got != ids {
		t.Errorf("unique over both instances = %d, want %d", got, ids)
	}
	if got := sa.Duplicates + sb.Duplicates; got != ids*(copies-1) {
		t.Errorf("duplicates over both instances = %d, want %d", got, ids*(copies-1))
	}
	if sa.Received != ids*copies/2 || sb.Received != ids*copies/2 {
		t.Errorf("received %d and %d, want %d each from the balancer", sa.Received, sb.Received, ids*copies/2)
	}
	if sa.Duplicates == 0 || sb.Duplicates == 0 {
		t.Errorf("duplicates %d and %d: each instance should have caught copies first seen by the other", sa.Duplicates, sb.Duplicates)
	}
}

// TestSharedDedupeMigrations: a receiver creates the schema on an empty
// database, starts on a current one, and refuses a newer one.
func TestSharedDedupeMigrations(t *testing.T) {
	dsn := pgtest.Start(t)
	version := func() int {
		t.Helper()
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var v int
		if err := conn.QueryRow(context.Background(), `SELECT version FROM hookrig_schema_version WHERE component = $1`, schemaComponent).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	start := func() error {
		r, err := New(Config{Secrets: []string{secretA}, Clock: clock.NewFake(t0), Dedupe: DedupeConfig{DSN: dsn}})
		if err == nil {
			r.Close()
		}
		return err
	}
	if err := start(); err != nil {
		t.Fatalf("empty database: %v", err)
	}
	if v := version(); v != 1 {
		t.Fatalf("schema version after the first start = %d, want 1", v)
	}
	if err := start(); err != nil {
		t.Fatalf("current database: %v", err)
	}
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `UPDATE hookrig_schema_version SET version = 2 WHERE component = $1`, schemaComponent); err != nil {
		t.Fatal(err)
	}
	err = start()
	const want = "receiver: dedupe database: schema version 2 is newer than this hookrig knows (1); upgrade hookrig"
	if err == nil || err.Error() != want {
		t.Fatalf("newer database: err %v, want %q", err, want)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
}

// TestSharedDedupeDatabaseDown: with the database gone, a webhook, new or
// a repeat, is answered 503 with Retry-After and not acknowledged.
func TestSharedDedupeDatabaseDown(t *testing.T) {
	db := pgtest.StartServer(t)
	g := newRig(t, Config{Dedupe: DedupeConfig{DSN: db.DSN}})
	if ans := g.post("msg_before", 1); ans.Status != http.StatusOK {
		t.Fatalf("with the database up: %d %s", ans.Status, ans.Body)
	}
	db.Stop()
	for _, id := range []string{"msg_after", "msg_before"} {
		ans := g.post(id, 2)
		if ans.Status != http.StatusServiceUnavailable || ans.Header.Get("Retry-After") == "" {
			t.Errorf("%s with the database down: %d (Retry-After %q) %s, want 503 with Retry-After",
				id, ans.Status, ans.Header.Get("Retry-After"), ans.Body)
		}
		if rc := g.lastReceipt(); rc.Acked() {
			t.Errorf("%s journaled as acknowledged: %+v", id, rc)
		}
	}
	s := g.r.Stats()
	checkBalance(t, s)
	if s.Unique != 1 || s.Unkept != 2 || s.Duplicates != 0 {
		t.Errorf("stats unique %d unkept %d duplicates %d, want 1, 2, 0", s.Unique, s.Unkept, s.Duplicates)
	}
}

// blockedPair starts two receivers on one dedupe database and one fake
// clock: a processes before the ack with a step the test steers, b acks
// first.
func blockedPair(t *testing.T) (a, b *rig, step *blockingStep, fake *clock.Fake) {
	t.Helper()
	dsn := pgtest.Start(t)
	fake = clock.NewFake(t0)
	step = newBlockingStep()
	a = newRig(t, Config{Clock: fake, Dedupe: DedupeConfig{DSN: dsn}, Processing: ProcessingConfig{Func: step.fn, BeforeAck: true}})
	b = newRig(t, Config{Clock: fake, Dedupe: DedupeConfig{DSN: dsn}})
	return a, b, step, fake
}

// TestSharedDedupeInFlightAcrossInstances: processing before the ack on
// one instance holds the id pending; a copy on the other instance is told
// to come back (409), and once the first fails its row is deleted, so the
// retry on the other instance is processed, not called a duplicate.
func TestSharedDedupeInFlightAcrossInstances(t *testing.T) {
	a, b, step, _ := blockedPair(t)
	first := a.postAsync("msg_1")
	<-step.entered
	if ans := b.post("msg_1", 2); ans.Status != http.StatusConflict || ans.Header.Get("Retry-After") == "" {
		t.Fatalf("copy on the other instance while the first is processed: %d %s, want 409 with Retry-After", ans.Status, ans.Body)
	}
	step.release <- errors.New("database down")
	if ans := <-first; ans.Status != http.StatusInternalServerError {
		t.Fatalf("failed processing answered %d", ans.Status)
	}
	if ans := b.post("msg_1", 3); ans.Status != http.StatusOK || string(ans.Body) != AckFresh {
		t.Fatalf("retry after the failure: %d %q, want 200 %q", ans.Status, ans.Body, AckFresh)
	}
	if ans := a.post("msg_1", 4); ans.Status != http.StatusOK || string(ans.Body) != AckDuplicate {
		t.Fatalf("copy after the retry was kept: %d %q, want 200 %q", ans.Status, ans.Body, AckDuplicate)
	}
	sa, sb := a.r.Stats(), b.r.Stats()
	checkBalance(t, sa)
	checkBalance(t, sb)
	if sa.Failed != 1 || sa.Duplicates != 1 || sb.Conflicts != 1 || sb.Unique != 1 {
		t.Errorf("stats a %+v\nb %+v", sa, sb)
	}
}

// TestSharedDedupeExpiry: an id past its TTL is fresh again, and the
// clean-up deletes expired rows only.
func TestSharedDedupeExpiry(t *testing.T) {
	dsn := pgtest.Start(t)
	g := newRig(t, Config{Dedupe: DedupeConfig{DSN: dsn, TTL: time.Hour}})
	for _, id := range []string{"msg_old", "msg_reclaimed"} {
		if ans := g.post(id, 1); string(ans.Body) != AckFresh {
			t.Fatalf("%s: %d %s", id, ans.Status, ans.Body)
		}
	}
	g.clock.Advance(2 * time.Hour)
	if ans := g.post("msg_reclaimed", 2); string(ans.Body) != AckFresh {
		t.Fatalf("repeat past the TTL: %d %q, want %q", ans.Status, ans.Body, AckFresh)
	}
	if ans := g.post("msg_new", 1); string(ans.Body) != AckFresh {
		t.Fatalf("msg_new: %d %s", ans.Status, ans.Body)
	}
	// The receiver's own clean-up may have run when the clock advanced;
	// what the table holds afterwards is the same either way.
	if _, err := g.r.shared.cleanup(context.Background(), g.clock.Now()); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var held string
	if err := conn.QueryRow(context.Background(), `SELECT string_agg(id, ',' ORDER BY id) FROM hookrig_receiver_dedupe`).Scan(&held); err != nil {
		t.Fatal(err)
	}
	if held != "msg_new,msg_reclaimed" {
		t.Errorf("ids held after the clean-up: %s, want msg_new,msg_reclaimed (msg_old expired)", held)
	}
	if ans := g.post("msg_new", 2); string(ans.Body) != AckDuplicate {
		t.Errorf("msg_new after the clean-up: %d %q, want %q", ans.Status, ans.Body, AckDuplicate)
	}
}

// TestSharedDedupePendingLease: a pending claim whose instance does not
// answer within pendingLease is taken for dead, and a copy on another
// instance is processed rather than told to come back for ever.
func TestSharedDedupePendingLease(t *testing.T) {
	a, b, step, fake := blockedPair(t)
	first := a.postAsync("msg_stuck")
	<-step.entered
	fake.Advance(pendingLease - time.Second)
	if ans := b.post("msg_stuck", 2); ans.Status != http.StatusConflict {
		t.Fatalf("copy inside the lease: %d %s, want 409", ans.Status, ans.Body)
	}
	fake.Advance(time.Second)
	if ans := b.post("msg_stuck", 3); ans.Status != http.StatusOK || string(ans.Body) != AckFresh {
		t.Fatalf("copy once the lease passed: %d %q, want 200 %q", ans.Status, ans.Body, AckFresh)
	}
	step.release <- nil
	if ans := <-first; ans.Status != http.StatusOK {
		t.Fatalf("the stuck first copy answered %d", ans.Status)
	}
	// The stuck instance's late commit must not touch the row the other
	// instance now holds: a further copy is a plain duplicate.
	if ans := a.post("msg_stuck", 4); ans.Status != http.StatusOK || string(ans.Body) != AckDuplicate {
		t.Fatalf("copy after both answered: %d %q, want 200 %q", ans.Status, ans.Body, AckDuplicate)
	}
}
