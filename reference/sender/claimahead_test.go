package sender

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/reference/sender/delivery"
)

// Attempts are claimed ahead of a steady endpoint's window (see
// dispatcher.pick); these tests hold the endpoint's window full and look
// at what becomes of the claims made meanwhile.

const (
	aheadWindow = 4
	aheadEvents = 40
	// aheadClaims is what the outbox holds claimed once the window is
	// full: the window on the wire and AheadFactor windows ahead.
	aheadClaims = aheadWindow * (1 + delivery.AheadFactor)
)

// claimsInOutbox counts the attempts claimed in the outbox.
func claimsInOutbox(t *testing.T, h *harness) int {
	t.Helper()
	n := 0
	if err := h.ob.view(func(tx *txb) error { n = tx.inflight.Stats().KeyN; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// pollFor checks cond every few milliseconds until it holds, or fails
// after wait: the dispatcher claims on its own goroutine and says so to
// nobody.
func pollFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	giveUp := time.After(wait)
	for !cond() {
		select {
		case <-giveUp:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

// heldWindow starts a sender whose endpoint holds every request until
// release closes (or the request is cut off), with aheadEvents events,
// and waits until the window is on the wire and the claims ahead are
// durable.
func heldWindow(t *testing.T, dir string, cfg Config) (h *harness, e Endpoint, ep *endpoint, release chan struct{}) {
	t.Helper()
	release = make(chan struct{})
	ep = newEndpoint(t, clock.Real{}, func(h hit, w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	h = openHarness(t, dir, cfg)
	p := quickPolicy(5)
	p.Concurrency = aheadWindow
	e = h.endpoint(t, ep.srv.URL, p)
	specs := make([]EventSpec, aheadEvents)
	for i := range specs {
		specs[i] = ev(e.ID, "", `{}`)
	}
	h.enqueue(t, specs...)
	h.Start(context.Background())
	for range aheadWindow {
		ep.next(t)
	}
	pollFor(t, "the claims ahead", func() bool { return claimsInOutbox(t, h) == aheadClaims })
	return h, e, ep, release
}

// A graceful stop hands the claims made ahead back: the next start finds
// them pending, not interrupted.
func TestClaimsAheadHandedBackOnClose(t *testing.T) {
	dir := t.TempDir()
	fake := clock.NewFake(t0)
	h, _, _, release := heldWindow(t, dir, Config{Clock: fake, ShutdownGrace: time.Minute})
	graceTimer := fake.TimerCreated()
	closed := make(chan error, 1)
	go func() { closed <- h.Close() }()
	<-graceTimer // nothing starts any more
	close(release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	h2 := openHarness(t, dir, Config{Clock: fake})
	if rec := h2.Recovered(); rec.Interrupted != 0 || rec.Pending != aheadEvents-aheadWindow {
		t.Fatalf("recovered %+v, want %d pending and none interrupted", rec, aheadEvents-aheadWindow)
	}
	if n := claimsInOutbox(t, h2); n != 0 {
		t.Fatalf("%d claims left in the outbox", n)
	}
}

// A crash leaves the claims made ahead, as it leaves those on the wire:
// the next start reports every one as interrupted and retries it, and
// every event is delivered.
func TestCrashReportsClaimsAhead(t *testing.T) {
	dir := t.TempDir()
	h, _, ep, release := heldWindow(t, dir, Config{})
	h.Crash()
	close(release)
	h2 := openHarness(t, dir, Config{})
	if rec := h2.Recovered(); rec.Interrupted != aheadClaims || rec.Pending != aheadEvents {
		t.Fatalf("recovered %+v, want %d interrupted and %d pending", rec, aheadClaims, aheadEvents)
	}
	h2.Start(context.Background())
	h2.untilFinal(t, aheadEvents)
	if st := h2.Stats(); st.Delivered != aheadEvents || st.Attempts != aheadEvents+aheadClaims || st.Interrupted != aheadClaims {
		t.Fatalf("stats %+v", st)
	}
	if n := len(ep.seen()); n != aheadEvents+aheadWindow {
		t.Fatalf("the endpoint saw %d requests, want %d: the claims ahead never reached it before the crash", n, aheadEvents+aheadWindow)
	}
}

// Deleting the endpoint dead-letters the events claimed ahead with those
// waiting; only the attempts on the wire finish.
func TestDeleteEndpointDropsClaimsAhead(t *testing.T) {
	h, e, _, release := heldWindow(t, t.TempDir(), Config{})
	if err := h.DeleteEndpoint(e.ID); err != nil {
		t.Fatal(err)
	}
	if st := h.Stats(); st.DeadLettered != aheadEvents-aheadWindow {
		t.Fatalf("stats %+v, want %d dead-lettered at once", st, aheadEvents-aheadWindow)
	}
	if n := claimsInOutbox(t, h); n != aheadWindow {
		t.Fatalf("%d claims in the outbox, want the %d on the wire", n, aheadWindow)
	}
	close(release)
	h.untilFinal(t, aheadWindow)
	if st := h.Stats(); st.Pending != 0 || st.Attempts != aheadWindow {
		t.Fatalf("stats %+v", st)
	}
}

// An endpoint that stops being steady (here its circuit opens) hands its
// claims ahead back: nothing waits claimed while it may not send.
func TestOpenCircuitHandsBackClaimsAhead(t *testing.T) {
	ep := newEndpoint(t, clock.Real{}, func(h hit, w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	h := openHarness(t, t.TempDir(), Config{})
	p := quickPolicy(5)
	p.Concurrency = aheadWindow
	p.Breaker = delivery.BreakerPolicy{Failures: aheadWindow, Cooldown: time.Hour}
	e := h.endpoint(t, ep.srv.URL, p)
	specs := make([]EventSpec, aheadEvents)
	for i := range specs {
		specs[i] = ev(e.ID, "", `{}`)
	}
	h.enqueue(t, specs...)
	h.Start(context.Background())
	pollFor(t, "the circuit to open and the claims to be handed back", func() bool {
		st := h.Stats()
		return st.OpenBreakers == 1 && st.InFlight == 0 && claimsInOutbox(t, h) == 0
	})
	// The failures that opened it, and those on the wire then.
	if st := h.Stats(); st.Pending != aheadEvents || st.Attempts > 2*aheadWindow {
		t.Fatalf("stats %+v, want every event pending and at most %d attempts", st, 2*aheadWindow)
	}
}
