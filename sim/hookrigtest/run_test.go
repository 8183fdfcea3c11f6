package hookrigtest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookrig/hookrig/reference/sender"
	"github.com/hookrig/hookrig/reference/webhook"
	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim/hookrigtest"
)

// shop is a user's webhook endpoint with a bug: it verifies each
// webhook, answers 200, and is meant to store it; every 10th webhook it
// takes it answers 200 and loses (a hand-off to a queue that silently
// drops, say). The sender saw a 200, so only the endpoint's own record
// of what it stored shows the loss: shop serves that record at
// GET /v1/receipts, in the format hookrig reads (hookrig run --receipts).
type shop struct {
	verify *webhook.Verifier

	mu      sync.Mutex
	taken   int
	stored  []string // webhook-ids, in the order stored
	dropped []string
}

func newShop(t *testing.T, secret string) *shop {
	v, err := webhook.NewVerifier(0, secret)
	if err != nil {
		t.Fatal(err)
	}
	return &shop{verify: v}
}

func (s *shop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v1/receipts" {
		s.receipts(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "reading the body", http.StatusBadRequest)
		return
	}
	if err := s.verify.Verify(r.Header, body, time.Now()); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	id := r.Header.Get(webhook.HeaderID)
	s.mu.Lock()
	s.taken++
	if s.taken%10 == 0 {
		s.dropped = append(s.dropped, id) // the bug
	} else {
		s.stored = append(s.stored, id)
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// receipts pages through what shop stored: seq is the position in
// stored, since the last seq already read.
func (s *shop) receipts(w http.ResponseWriter, r *http.Request) {
	var since int
	fmt.Sscan(r.URL.Query().Get("since"), &since)
	type receipt struct {
		ID     string    `json:"id"`
		At     time.Time `json:"at"`
		Status int       `json:"status"`
	}
	s.mu.Lock()
	page := struct {
		Receipts []receipt `json:"receipts"`
		Next     int       `json:"next"`
	}{Receipts: []receipt{}, Next: since}
	for i := since; i < len(s.stored); i++ {
		page.Receipts = append(page.Receipts, receipt{ID: s.stored[i], At: time.Now(), Status: 200})
		page.Next = i + 1
	}
	s.mu.Unlock()
	json.NewEncoder(w).Encode(page)
}

func (s *shop) droppedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.dropped)
}

// quick is 50 events in a second, judged on one assertion.
func quick(t *testing.T) *scenarios.Scenario {
	s, err := scenarios.Parse([]byte(`
name: checkout
load:
  phases:
    - {pacer: constant:50, duration: 1s}
drain: {timeout: 5s}
assertions:
  - lost == 0
  - dead_lettered == 0
`), "checkout.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// An endpoint that answers 200 and drops every 10th webhook fails the
// test once Run reads what it stored; the message names the failed
// assertion with the number lost, and carries the report.
func TestRunFailsATestAgainstAnEndpointThatDropsEvery10th(t *testing.T) {
	secret := sender.NewSecret()
	s := newShop(t, secret)
	rec := &fakeT{}
	rec.run(func(tb testing.TB) {
		hookrigtest.RunScenario(tb, quick(t), hookrigtest.Endpoint(s),
			hookrigtest.WithSecret(secret), hookrigtest.WithReceipts("/v1/receipts"))
	})
	dropped := s.droppedCount()
	if dropped == 0 {
		t.Fatal("the endpoint dropped nothing: the run sent it fewer than 10 webhooks")
	}
	if rec.fatal || len(rec.errors) != 1 {
		t.Fatalf("want one Errorf (not Fatalf), got fatal=%v, %d messages:\n%s", rec.fatal, len(rec.errors), strings.Join(rec.errors, "\n---\n"))
	}
	msg := rec.errors[0]
	t.Logf("the failed test's message:\n%s", msg)
	for _, want := range []string{
		"hookrig: scenario checkout: 1 of 2 assertions failed:",
		fmt.Sprintf("✗ lost == 0: false: lost = %d", dropped),
		"FAIL  1 of 2 assertions failed", // the text report follows
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the message lacks %q", want)
		}
	}
	for _, id := range s.dropped { // the report's examples name the lost ids
		if !strings.Contains(msg, id) {
			t.Errorf("the message does not name %s, a webhook the endpoint dropped", id)
		}
	}
	if before, _, _ := strings.Cut(msg, "\nthe report"); strings.Contains(before, "dead_lettered") {
		t.Errorf("the assertion that held is listed as failed:\n%s", before)
	}
}

// Without its receipts, the same endpoint is judged by its answers: a
// 200 for every webhook, nothing lost. This is why WithReceipts exists.
func TestRunWithoutReceiptsTrustsThe200s(t *testing.T) {
	secret := sender.NewSecret()
	s := newShop(t, secret)
	rec := &fakeT{}
	var accepted, lost int64
	var seed uint64
	rec.run(func(tb testing.TB) {
		res := hookrigtest.RunScenario(tb, quick(t), hookrigtest.Endpoint(s), hookrigtest.WithSecret(secret), hookrigtest.WithSeed(7))
		accepted, lost, seed = res.Events.Accepted, res.Events.Lost, res.Seed
	})
	if len(rec.errors) != 0 {
		t.Fatalf("want a pass, got:\n%s", strings.Join(rec.errors, "\n"))
	}
	if seed != 7 {
		t.Errorf("the run's seed is %d, want WithSeed's 7", seed)
	}
	if s.droppedCount() == 0 || lost != 0 || accepted != 50 {
		t.Errorf("dropped %d, accepted %d, lost %d: want some dropped, 50 accepted, none seen lost", s.droppedCount(), accepted, lost)
	}
}

// A run that cannot be done stops the test with a one-line reason.
func TestRunStopsOnAScenarioThatCannotRun(t *testing.T) {
	cases := map[string]struct {
		scenario string
		target   hookrigtest.Target
		want     string
	}{
		"unknown scenario": {"no-such-scenario", hookrigtest.URL("http://127.0.0.1:1/"), "no-such-scenario"},
		"no target":        {"baseline", hookrigtest.Target{}, "no target: give hookrigtest.Endpoint(handler) or hookrigtest.URL(url)"},
		"bad URL":          {"baseline", hookrigtest.URL("ftp://x"), `receiver URL "ftp://x": expected an http:// or https:// URL`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			rec := &fakeT{}
			rec.run(func(tb testing.TB) { hookrigtest.Run(tb, c.scenario, c.target) })
			if !rec.fatal || len(rec.errors) != 1 || !strings.Contains(rec.errors[0], c.want) {
				t.Errorf("want a Fatalf containing %q, got fatal=%v %q", c.want, rec.fatal, rec.errors)
			}
		})
	}
}
