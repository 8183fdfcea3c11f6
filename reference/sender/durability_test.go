package sender

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/reference/sender/delivery"
)

// Events acknowledged by Enqueue survive a crash, in acceptance order, and
// are delivered after the restart.
func TestAcceptedEventsSurviveCrash(t *testing.T) {
	dir := t.TempDir()
	ep := newEndpoint(t, clock.Real{}, nil)
	h := openHarness(t, dir, Config{})
	e := h.endpoint(t, ep.srv.URL, quickPolicy(3))
	var mu sync.Mutex
	accepted := map[string]bool{}
	var wg sync.WaitGroup
	for g := range 30 {
		wg.Go(func() {
			for i := range 10 {
				ids, err := h.Enqueue(context.Background(), []EventSpec{ev(e.ID, "", fmt.Sprintf(`{"g":%d,"i":%d}`, g, i))})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				accepted[ids[0]] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	h.Crash()
	if _, err := h.Enqueue(context.Background(), []EventSpec{ev(e.ID, "", `1`)}); err == nil {
		t.Fatal("a crashed sender accepted an event")
	}

	h2 := openHarness(t, dir, Config{})
	if rec := h2.Recovered(); rec.Pending != 300 || rec.Interrupted != 0 {
		t.Fatalf("recovered %+v", rec)
	}
	if st := h2.Stats(); st.Accepted != 300 || st.Pending != 300 {
		t.Fatalf("stats after restart %+v", st)
	}
	var last uint64
	n := 0
	err := h2.Events(func(x Event) bool {
		if x.Seq <= last || !accepted[x.ID] || x.State != StatePending {
			t.Fatalf("event %+v after seq %d", x, last)
		}
		last = x.Seq
		n++
		return true
	})
	if err != nil || n != 300 {
		t.Fatalf("Events: %d, %v", n, err)
	}
	h2.Start(context.Background())
	h2.untilFinal(t, 300)
	if st := h2.Stats(); st.Delivered != 300 || st.Pending != 0 {
		t.Fatalf("stats after delivery %+v", st)
	}
}

// An attempt in flight at a crash is recorded as interrupted on restart
// and retried: the endpoint may see the event twice, and the sender says
// so.
func TestCrashReportsInterruptedAttempt(t *testing.T) {
	dir := t.TempDir()
	release := make(chan struct{})
	ep := newEndpoint(t, clock.Real{}, func(h hit, w http.ResponseWriter, r *http.Request) {
		if h.Attempt == 1 {
			<-release // processed, but the answer never reaches the sender
		}
	})
	h := openHarness(t, dir, Config{})
	e := h.endpoint(t, ep.srv.URL, quickPolicy(5))
	h.Start(context.Background())
	ids := h.enqueue(t, ev(e.ID, "", `{}`))
	ep.next(t)
	h.Crash()
	close(release)

	h2 := openHarness(t, dir, Config{})
	if rec := h2.Recovered(); rec.Interrupted != 1 || rec.Pending != 1 {
		t.Fatalf("recovered %+v", rec)
	}
	r := h2.report(t) // the interrupted attempt, reported at Open
	if r.EventID != ids[0] || r.Attempt.Err != delivery.ErrInterrupted || r.Attempt.N != 1 || r.Decision != delivery.RetryAt {
		t.Fatalf("interrupted report %+v", r)
	}
	h2.Start(context.Background())
	if r := h2.report(t); r.Decision != delivery.Delivered || r.Attempt.N != 2 {
		t.Fatalf("retry %+v", r)
	}
	second := ep.next(t)
	if second.ID != ids[0] || second.Attempt != 2 {
		t.Fatalf("second delivery %+v", second)
	}
	x, _ := h2.Event(ids[0])
	if len(x.Attempts) != 2 || x.Attempts[0].Err != delivery.ErrInterrupted || x.Attempts[1].Status != 200 {
		t.Fatalf("attempts %+v", x.Attempts)
	}
	if st := h2.Stats(); st.Interrupted != 1 || st.Attempts != 2 || st.Delivered != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// Close lets attempts in flight finish within the grace and records them;
// past the grace they are cut off and reported as interrupted next time.
func TestCloseGrace(t *testing.T) {
	for _, cut := range []bool{false, true} {
		t.Run(fmt.Sprintf("cut=%v", cut), func(t *testing.T) {
			dir := t.TempDir()
			fake := clock.NewFake(t0)
			release := make(chan struct{})
			ep := newEndpoint(t, fake, func(h hit, w http.ResponseWriter, r *http.Request) {
				select {
				case <-release:
				case <-r.Context().Done():
				}
			})
			h := openHarness(t, dir, Config{Clock: fake, ShutdownGrace: 5 * time.Second})
			e := h.endpoint(t, ep.srv.URL, quickPolicy(5))
			h.Start(context.Background())
			h.enqueue(t, ev(e.ID, "", `{}`))
			ep.next(t)
			graceTimer := fake.TimerCreated()
			closed := make(chan error, 1)
			go func() { closed <- h.Close() }()
			<-graceTimer
			if _, err := h.Enqueue(context.Background(), []EventSpec{ev(e.ID, "", `{}`)}); err == nil {
				t.Fatal("a closing sender accepted an event")
			}
			if cut {
				fake.Advance(5 * time.Second)
			} else {
				close(release)
			}
			if err := <-closed; err != nil {
				t.Fatal(err)
			}
			if cut {
				close(release)
			}
			h2 := openHarness(t, dir, Config{Clock: fake})
			st := h2.Stats()
			if cut && (st.Interrupted != 1 || st.Pending != 1) || !cut && (st.Delivered != 1 || st.Interrupted != 0) {
				t.Fatalf("after restart: %+v", st)
			}
		})
	}
}

// Ingest is idempotent on the event id.
func TestIdempotentIngest(t *testing.T) {
	h := openHarness(t, t.TempDir(), Config{})
	e := h.endpoint(t, "http://127.0.0.1:9/", nil)
	one := EventSpec{ID: "order-42-paid", Endpoint: e.ID, Type: "order.paid", Payload: []byte(`{}`)}
	for range 3 {
		if ids := h.enqueue(t, one); ids[0] != "order-42-paid" {
			t.Fatalf("ids %v", ids)
		}
	}
	ids := h.enqueue(t, one, ev(e.ID, "", `1`), one)
	if ids[0] != "order-42-paid" || ids[2] != "order-42-paid" || ids[1] == ids[0] {
		t.Fatalf("batch ids %v", ids)
	}
	if st := h.Stats(); st.Accepted != 2 {
		t.Fatalf("accepted %d, want 2", st.Accepted)
	}
}

// Writes queued while a commit is under way share the next one.
func TestGroupCommit(t *testing.T) {
	ob, err := openOutbox(t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer ob.stop(false)
	started, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	ob.submit(func(t *txb, c *counters) error {
		close(started)
		<-release
		return t.meta.Put([]byte("first"), []byte("x"))
	}, func(err error) { first <- err })
	<-started
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Add(1)
		ob.submit(func(t *txb, c *counters) error {
			return t.meta.Put(fmt.Appendf(nil, "k%d", i), []byte("v"))
		}, func(err error) { errs <- err; wg.Done() })
	}
	close(release)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if c := ob.counters(); c.Commits != 2 || c.Grouped != 101 {
		t.Fatalf("counters %+v, want 2 commits for 101 writes", c)
	}
	// A failing write fails alone; its neighbours commit.
	errs2 := make([]error, 3)
	var wg2 sync.WaitGroup
	started2, release2 := make(chan struct{}), make(chan struct{})
	ob.submit(func(t *txb, c *counters) error { close(started2); <-release2; return nil }, func(error) {})
	<-started2
	for i := range 3 {
		wg2.Add(1)
		ob.submit(func(t *txb, c *counters) error {
			if i == 1 {
				return fmt.Errorf("bad write")
			}
			return t.meta.Put(fmt.Appendf(nil, "n%d", i), []byte("v"))
		}, func(err error) { errs2[i] = err; wg2.Done() })
	}
	close(release2)
	wg2.Wait()
	if errs2[0] != nil || errs2[1] == nil || errs2[2] != nil {
		t.Fatalf("errors %v", errs2)
	}
	err = ob.view(func(t *txb) error {
		if t.meta.Get([]byte("n0")) == nil || t.meta.Get([]byte("n2")) == nil {
			return fmt.Errorf("neighbours of a failed write were lost")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A second sender cannot open the same outbox.
func TestOutboxIsExclusive(t *testing.T) {
	dir := t.TempDir()
	openHarness(t, dir, Config{})
	if _, err := Open(Config{DataDir: dir}); err == nil {
		t.Fatal("two senders opened one outbox")
	}
}
