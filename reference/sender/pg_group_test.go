package sender

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hookrig/hookrig/internal/pgtest"
)

// A group takes whatever was queued while the previous group committed,
// answers each change only through commit, and on a crash abandons what
// is queued, unwritten.
func TestPGGroupGathersWhatArrivesDuringACommit(t *testing.T) {
	started := make(chan []int, 10)
	release := make(chan struct{})
	answered := map[int]error{}
	var mu sync.Mutex
	answer := func(i int, err error) {
		mu.Lock()
		answered[i] = err
		mu.Unlock()
	}
	g := newPGGroup(1, 3, func(int) int { return 1 }, func(group []int) {
		started <- group
		<-release
		for _, i := range group {
			answer(i, nil)
		}
	}, answer)

	if err := g.submit(1); err != nil {
		t.Fatal(err)
	}
	if got := <-started; !slices.Equal(got, []int{1}) {
		t.Fatalf("first group %v; want [1]", got)
	}
	// While group [1] commits, five more arrive: the next group takes
	// the first three (the limit), the one after the rest.
	for i := 2; i <= 6; i++ {
		if err := g.submit(i); err != nil {
			t.Fatal(err)
		}
	}
	release <- struct{}{}
	if got := <-started; !slices.Equal(got, []int{2, 3, 4}) {
		t.Fatalf("second group %v; want [2 3 4], what arrived during the first, up to the limit", got)
	}
	release <- struct{}{}
	if got := <-started; !slices.Equal(got, []int{5, 6}) {
		t.Fatalf("third group %v; want [5 6]", got)
	}
	// A crash while [5 6] commits: 7 and 8, queued, are abandoned.
	for i := 7; i <= 8; i++ {
		if err := g.submit(i); err != nil {
			t.Fatal(err)
		}
	}
	g.halt(ErrCrashed)
	release <- struct{}{}
	g.stop(ErrCrashed)
	if err := g.submit(9); !errors.Is(err, ErrCrashed) {
		t.Errorf("a change after the crash: %v; want refused with the crash", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for i := 1; i <= 6; i++ {
		if err, ok := answered[i]; !ok || err != nil {
			t.Errorf("change %d: answered %v, %v; want committed", i, ok, err)
		}
	}
	for i := 7; i <= 8; i++ {
		if err := answered[i]; !errors.Is(err, ErrCrashed) {
			t.Errorf("change %d queued at the crash: %v; want abandoned with the crash", i, err)
		}
	}
}

// A graceful stop writes what is queued.
func TestPGGroupGracefulStopWritesTheQueue(t *testing.T) {
	var mu sync.Mutex
	var written []int
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	g := newPGGroup(1, 100, func(int) int { return 1 }, func(group []int) {
		started <- struct{}{}
		<-release
		mu.Lock()
		written = append(written, group...)
		mu.Unlock()
	}, func(int, error) { t.Error("a change abandoned on a graceful stop") })
	for i := range 4 {
		if err := g.submit(i); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			<-started
		}
	}
	stopped := make(chan struct{})
	go func() { g.stop(nil); close(stopped) }()
	release <- struct{}{}
	<-started
	release <- struct{}{}
	<-stopped
	if !slices.Equal(written, []int{0, 1, 2, 3}) {
		t.Errorf("written %v; want every change queued before the stop", written)
	}
}

// ingestCase is one ingest request of pgIngestCases; its events name
// endpoints by the names of pgIngestEndpoints.
type ingestCase struct {
	batch  bool
	events []EventSpec
}

// pgIngestCases mix what a group must answer request by request: the
// same id in two requests and twice in one, a request refused for one
// of its endpoints (disabled, deleted) whose other events must not be
// written, an id refused in one request and accepted in a later one, a
// key the database refuses (a NUL byte), and ordered lanes.
func pgIngestCases() []ingestCase {
	one := func(id, endpoint, key string) EventSpec {
		return EventSpec{ID: id, Endpoint: endpoint, Type: "test.event", Key: key, Payload: []byte(`{"id":"` + id + `"}`)}
	}
	return []ingestCase{
		{false, []EventSpec{one("dup", "A", "")}},
		{false, []EventSpec{one("dup", "B", "")}},
		{true, []EventSpec{one("x1", "A", ""), one("x2", "D", "")}},
		{false, []EventSpec{one("x1", "A", "")}},
		{true, []EventSpec{one("y", "A", ""), one("y", "B", "")}},
		{false, []EventSpec{one("nul", "A", "a\x00b")}},
		{false, []EventSpec{one("o1", "O", "k")}},
		{false, []EventSpec{one("o2", "O", "k")}},
		{true, []EventSpec{one("o3", "O", "k"), one("z", "X", "")}},
		{true, []EventSpec{one("o4", "O", "k"), one("o5", "O", "j"), one("o6", "O", "k")}},
		{false, []EventSpec{one("z2", "X", "")}},
		{false, []EventSpec{one("o3", "O", "k")}},
	}
}

// pgIngestSetup makes the endpoints the cases name on a fresh sender:
// A and B plain, O ordered, D disabled and X deleted (both by another
// instance, so this one learns of it from the database).
func pgIngestSetup(t *testing.T, dsn string) (*harness, map[string]string) {
	h := openPGHarness(t, dsn, Config{Instance: "g"})
	names := map[string]string{}
	for _, name := range []string{"A", "B", "O", "D", "X"} {
		p := quickPolicy(3)
		p.Ordered = name == "O"
		names[name] = h.endpoint(t, "http://127.0.0.1:9/"+name, p).ID
	}
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `UPDATE hookrig_sender_endpoints SET disabled = true, disabled_reason = 'gone elsewhere' WHERE id = $1`, names["D"]); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(context.Background(), `UPDATE hookrig_sender_endpoints SET deleted = true, disabled = true WHERE id = $1`, names["X"]); err != nil {
		t.Fatal(err)
	}
	return h, names
}

// resolve gives a case's events the endpoints' real ids.
func (c ingestCase) resolve(names map[string]string) []EventSpec {
	out := slices.Clone(c.events)
	for i := range out {
		out[i].Endpoint = names[out[i].Endpoint]
	}
	return out
}

// answerOf writes an ingest's answer with the endpoints' names.
func answerOf(ids []string, err error, names map[string]string) string {
	s := fmt.Sprintf("ok %v", ids)
	if err != nil {
		s = fmt.Sprintf("%s: %v", ErrorCode(err), err)
	}
	for name, id := range names {
		s = strings.ReplaceAll(s, id, name)
	}
	return s
}

// pgEventRows lists the events kept, in lane order (ord): id, endpoint
// name, key.
func pgEventRows(t *testing.T, dsn string, names map[string]string) []string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), `SELECT id, endpoint, key FROM hookrig_sender_events ORDER BY ord`)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var id, endpoint, key string
		if err := rows.Scan(&id, &endpoint, &key); err != nil {
			t.Fatal(err)
		}
		for name, eid := range names {
			if eid == endpoint {
				endpoint = name
			}
		}
		out = append(out, id+"@"+endpoint+"/"+key)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// freshDatabase creates another database in dsn's cluster and returns
// its DSN.
func freshDatabase(t *testing.T, dsn, name string) string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `CREATE DATABASE `+name); err != nil {
		t.Fatal(err)
	}
	other := strings.Replace(dsn, "/postgres?", "/"+name+"?", 1)
	if other == dsn {
		t.Fatalf("cannot name another database in %s", dsn)
	}
	return other
}

// Requests committed as one group are answered, and leave the events,
// exactly as the same requests one after another do.
func TestPGIngestGroupAnswersAsOneByOne(t *testing.T) {
	dsn := pgtest.Start(t)
	cases := pgIngestCases()

	// One by one, through the API.
	h1, names1 := pgIngestSetup(t, freshDatabase(t, dsn, "one_by_one"))
	var want []string
	for _, c := range cases {
		ids, err := h1.Sender.enqueue(c.resolve(names1), c.batch)
		want = append(want, answerOf(ids, err, names1))
	}
	wantRows := pgEventRows(t, h1.cfg.Store, names1)

	// All in one group.
	h2, names2 := pgIngestSetup(t, freshDatabase(t, dsn, "grouped"))
	p := h2.store.(*pgStore)
	var group []*pgIngest
	for _, c := range cases {
		in, err := p.prepareIngest(c.resolve(names2), c.batch)
		if err != nil {
			t.Fatalf("preparing %+v: %v", c, err)
		}
		group = append(group, in)
	}
	p.commitIngests(group)
	var got []string
	for _, in := range group {
		err := <-in.done
		var ids []string
		if err == nil {
			ids = in.ids
		} else {
			err = p.dbError(err)
		}
		got = append(got, answerOf(ids, err, names2))
	}
	gotRows := pgEventRows(t, h2.cfg.Store, names2)

	for i := range cases {
		if got[i] != want[i] {
			t.Errorf("request %d in a group: %s\n\tone by one: %s", i, got[i], want[i])
		}
	}
	if !slices.Equal(gotRows, wantRows) {
		t.Errorf("events kept from a group, in lane order:\n\t%v\none by one:\n\t%v", gotRows, wantRows)
	}
	// What one by one gives, spelled out.
	expect := []string{"ok [dup]", "ok [dup]", "conflict: events[1].endpoint: \"D\" is disabled (gone elsewhere); enable it with POST /v1/endpoints/D/enable",
		"ok [x1]", "ok [y y]", "internal", "ok [o1]", "ok [o2]", "invalid: events[1].endpoint: no endpoint \"X\"",
		"ok [o4 o5 o6]", "invalid: endpoint: no endpoint \"X\"", "ok [o3]"}
	for i, e := range expect {
		if !strings.HasPrefix(got[i], e) {
			t.Errorf("request %d: %s; want %s", i, got[i], e)
		}
	}
	if wantKept := []string{"dup@A/", "x1@A/", "y@A/", "o1@O/k", "o2@O/k", "o4@O/k", "o5@O/j", "o6@O/k", "o3@O/k"}; !slices.Equal(gotRows, wantKept) {
		t.Errorf("events kept %v; want %v", gotRows, wantKept)
	}
}

// A group whose transaction fails (here the database connection is
// gone) fails every request in it: none is acknowledged, none kept.
func TestPGIngestGroupFailsEveryRequestOfAFailedCommit(t *testing.T) {
	dsn := pgtest.Start(t)
	h, names := pgIngestSetup(t, dsn)
	p := h.store.(*pgStore)
	var group []*pgIngest
	for _, id := range []string{"f1", "f2", "f3"} {
		in, err := p.prepareIngest([]EventSpec{{ID: id, Endpoint: names["A"], Type: "t", Payload: []byte(`1`)}}, false)
		if err != nil {
			t.Fatal(err)
		}
		group = append(group, in)
	}
	p.pool.Close()
	p.commitIngests(group)
	for i, in := range group {
		if err := <-in.done; err == nil {
			t.Errorf("request %d of a group whose commit failed: acknowledged", i)
		}
	}
	if rows := pgEventRows(t, dsn, names); len(rows) != 0 {
		t.Errorf("events kept from a failed group: %v", rows)
	}
}

// Many clients at once, each posting single events to its own ordered
// lane, every id posted twice (two clients race with it): each id kept
// once, every acknowledged id kept, and each lane in the order its
// client posted it, whatever groups the requests fell into.
func TestPGConcurrentIngestsKeepLaneOrder(t *testing.T) {
	dsn := pgtest.Start(t)
	h := openPGHarness(t, dsn, Config{Instance: "c"})
	p := quickPolicy(3)
	p.Ordered = true
	ep := h.endpoint(t, "http://127.0.0.1:9/hooks", p).ID
	const clients, each = 32, 25
	var wg sync.WaitGroup
	errs := make(chan error, 2*clients*each)
	for c := range clients {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("c%d-%d", c, i)
				if _, err := h.Enqueue(context.Background(), []EventSpec{{ID: id, Endpoint: ep, Type: "t", Key: fmt.Sprintf("lane%d", c), Payload: []byte(`1`)}}); err != nil {
					errs <- err
				}
			}
		})
		wg.Go(func() { // the same ids again, racing the first
			for i := range each {
				id := fmt.Sprintf("c%d-%d", c, i)
				if _, err := h.Enqueue(context.Background(), []EventSpec{{ID: id, Endpoint: ep, Type: "t", Key: fmt.Sprintf("lane%d", c), Payload: []byte(`1`)}}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("ingest: %v", err)
	}
	rows := pgEventRows(t, dsn, map[string]string{"E": ep})
	if len(rows) != clients*each {
		t.Fatalf("%d events kept; want %d, each id once", len(rows), clients*each)
	}
	next := map[string]int{}
	for _, r := range rows {
		var c, i int
		if _, err := fmt.Sscanf(r, "c%d-%d@", &c, &i); err != nil {
			t.Fatalf("row %q: %v", r, err)
		}
		lane := fmt.Sprint(c)
		if i != next[lane] {
			t.Errorf("lane %d: event %d comes after event %d; want the order its client posted", c, i, next[lane]-1)
		}
		next[lane] = i + 1
	}
}
