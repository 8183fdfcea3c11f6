package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookrig/hookrig/internal/capture"
	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/reference/receiver"
	"github.com/hookrig/hookrig/reference/sender"
	"github.com/hookrig/hookrig/reference/webhook"
	"github.com/hookrig/hookrig/sim/hookrigtest"
)

const (
	captureSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	replaySecret  = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
)

// captureFromSender runs `hookrig receiver --capture` on loopback, has the
// reference sender deliver n events to it, stops it (which flushes the
// capture) and returns the capture file and the ids delivered.
func captureFromSender(t *testing.T, n int) (string, map[string]bool) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cap.jsonl")
	recv := startServer(t, nil, 1, "receiver", "--listen", "127.0.0.1:0", "--secret", captureSecret, "--capture", path, "--quiet")
	snd := hookrigtest.NewSender(t, recv.url+"/hooks", hookrigtest.WithSecret(captureSecret))
	var evs []sender.EventSpec
	for i := range n {
		evs = append(evs, sender.EventSpec{Type: "order.paid", Key: fmt.Sprint("k", i%7), Payload: json.RawMessage(fmt.Sprintf(`{"n":%d,"note":"caf\u00e9 \\u00e9"}`, i))})
	}
	ids := map[string]bool{}
	for _, id := range snd.Send(evs...) {
		ids[id] = true
	}
	for _, ev := range snd.WaitDelivered(30 * time.Second) {
		if ev.State != sender.StateDelivered {
			t.Fatalf("event %s is %s, want delivered", ev.ID, ev.State)
		}
	}
	recv.stop(t)
	return path, ids
}

func serveReceiver(t *testing.T, cfg receiver.Config) (*receiver.Receiver, string) {
	t.Helper()
	r, err := receiver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r.Handler())
	t.Cleanup(func() { srv.Close(); r.Close() })
	return r, srv.URL
}

// TestReplayCapturedSenderTraffic is the demonstration: 100 real
// webhooks from the reference sender are captured whole; replayed at 10x
// and re-signed with another secret, the reference receiver verifies all
// 100 as unique; replayed unchanged to a receiver whose clock is past the
// 5-minute tolerance, all 100 are refused as stale and the report and the
// exit status say so.
func TestReplayCapturedSenderTraffic(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a sender and three receivers on loopback")
	}
	const n = 100
	path, ids := captureFromSender(t, n)
	reqs, err := capture.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != n {
		t.Fatalf("%d requests captured, want %d", len(reqs), n)
	}
	for _, r := range reqs {
		if !ids[r.Header.Get("Webhook-Id")] || r.Path != "/hooks" || !json.Valid(r.Body) || !r.Whole() {
			t.Fatalf("captured %s %s id %q body %q: want a whole webhook the sender sent", r.Method, r.Path, r.Header.Get("Webhook-Id"), r.Body)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	t.Run("re-signed at 10x: all verified", func(t *testing.T) {
		rcv, url := serveReceiver(t, receiver.Config{Secrets: []string{replaySecret}})
		code, stdout, stderr := runOnce(ctx, "", "replay", path, "--to", url, "--speed", "10x", "--secret", replaySecret)
		if code != exitOK {
			t.Fatalf("exit %d; stderr %s\n%s", code, stderr, stdout)
		}
		st := rcv.Stats()
		if st.Received != n || st.Unique != n || st.Rejected != 0 {
			t.Fatalf("receiver saw %d, %d unique, %d rejected; want %d unique", st.Received, st.Unique, st.Rejected, n)
		}
		if !strings.Contains(stdout, "status       200: 100") || !strings.Contains(stdout, "re-signed") {
			t.Errorf("report does not show 100 answers 200 to a re-signed replay:\n%s", stdout)
		}
		// The same ids as captured: the receiver's receipts are the sender's events.
		for _, rc := range rcv.Receipts(0, 0) {
			if !ids[rc.ID] {
				t.Errorf("receipt of %q, an id the sender never sent", rc.ID)
			}
		}
	})

	t.Run("unchanged after the tolerance: all stale", func(t *testing.T) {
		late := clock.NewFake(time.Now().Add(6 * time.Minute)) // past the 5-minute tolerance, without waiting for it
		rcv, url := serveReceiver(t, receiver.Config{Secrets: []string{captureSecret}, Clock: late})
		code, stdout, stderr := runOnce(ctx, "", "replay", path, "--to", url, "--speed", "10x")
		if code != exitAssertion {
			t.Fatalf("exit %d, want %d (answers not 2xx); stderr %s", code, exitAssertion, stderr)
		}
		st := rcv.Stats()
		if st.Received != n || st.RejectedBy.Timestamp != n || st.Unique != 0 {
			t.Fatalf("receiver: %d received, %d stale, %d unique; want all %d stale", st.Received, st.RejectedBy.Timestamp, st.Unique, n)
		}
		// The receiver's refusal names the timestamp it refused, so a
		// capture that spans a second boundary gives two causes (400 ×76
		// and 400 ×24): the refusals are counted over every cause that
		// names a stale timestamp.
		if !strings.Contains(stdout, "status       400: 100") || staleRefusals(stdout, "refused      400 ×") != n ||
			!strings.Contains(stdout, "unchanged") {
			t.Errorf("report does not name 400 ×%d and the stale timestamp:\n%s", n, stdout)
		}
		if !strings.Contains(stderr, "replay: FAILED: ") || staleRefusals(stderr, "400 ×") != n {
			t.Errorf("stderr does not give the failure and its cause: %q", stderr)
		}
	})
}

// staleRefusals sums N over each "PREFIXN: …timestamp too old…" cause in
// out.
func staleRefusals(out, prefix string) int {
	total := 0
	for rest := out; ; {
		i := strings.Index(rest, prefix)
		if i < 0 {
			return total
		}
		rest = rest[i+len(prefix):]
		var count int
		var cause string
		if _, err := fmt.Sscanf(rest, "%d:", &count); err != nil {
			continue
		}
		if end := strings.IndexAny(rest, ";\n"); end >= 0 {
			cause = rest[:end]
		} else {
			cause = rest
		}
		if strings.Contains(cause, "timestamp too old") {
			total += count
		}
	}
}

// bench --payload-from-capture sends the captured bodies in turn, byte for
// byte, with its own ids and signatures.
func TestBenchPayloadFromCapture(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cap.jsonl")
	w, err := capture.Create(path, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	bodies := []string{`{"type":"invoice.paid","amount":12}`, `{"type":"charge.refunded","note":"caf\u00e9"}`}
	for _, b := range bodies {
		w.Write(&capture.Request{At: time.Unix(1, 0), Method: "POST", Path: "/", Body: []byte(b)})
	}
	w.Write(&capture.Request{At: time.Unix(1, 0), Method: "POST", Path: "/", Cut: "body over the receiver's limit"})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// A real endpoint that verifies each webhook and keeps its body.
	v, _ := webhook.NewVerifier(0, replaySecret)
	var (
		mu  sync.Mutex
		got []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if err := v.Verify(r.Header, b, time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
	}))
	defer srv.Close()
	url := srv.URL
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code, stdout, stderr := runOnce(ctx, "", "bench", url+"/hooks", "--payload-from-capture", path, "--requests", "4", "--concurrency", "1",
		"--secret", replaySecret, "--quiet", "--no-preflight")
	if code != exitOK {
		t.Fatalf("exit %d; stderr %s\n%s", code, stderr, stdout)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{bodies[0], bodies[1], bodies[0], bodies[1]}; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("bodies sent (verified):\n%s\nwant the captured ones in turn:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	code, _, stderr = runOnce(ctx, "", "bench", url, "--payload-from-capture", path, "--body", path)
	if code == exitOK || !strings.Contains(stderr, "give --payload-from-capture or --body/--template, not both") {
		t.Errorf("--body with --payload-from-capture: exit %d, stderr %q", code, stderr)
	}
}

// TestReplayResignScheme: a capture of Stripe webhooks (ids in the body,
// signed long ago) replayed with --scheme stripe is re-signed with fresh
// timestamps, and `hookrig receiver --scheme stripe` verifies every one as
// unique with the captured ids; re-signed as github with --id-from
// header:X-Old-Id, each keeps the id read there. --new-ids cannot apply to
// an id inside the body, and --scheme without --secret re-signs nothing.
func TestReplayResignScheme(t *testing.T) {
	const (
		n      = 20
		stripe = "whsec_stripe_replay_secret"
		github = "github-replay-secret"
	)
	old, err := webhook.NewScheme("stripe", webhook.Options{Secrets: []string{"whsec_the_old_secret"}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "stripe.jsonl")
	w, err := capture.Create(path, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	at := time.Unix(1_700_000_000, 0)
	for i := range n {
		id := fmt.Sprintf("evt_%03d", i)
		ids[id] = true
		body := []byte(fmt.Sprintf(`{"id":%q,"object":"event","type":"invoice.paid"}`, id))
		h := http.Header{"Content-Type": {"application/json"}, "X-Old-Id": {"old_" + id}}
		old.Sign(h, id, at, body)
		w.Write(&capture.Request{At: at.Add(time.Duration(i) * time.Millisecond), Method: "POST", Path: "/webhooks", Header: h, Body: body})
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	for _, c := range []struct {
		scheme, secret string
		extra          []string
		idOf           func(string) string
	}{
		{"stripe", stripe, nil, func(id string) string { return id }},
		{"github", github, []string{"--id-from", "header:X-Old-Id"}, func(id string) string { return "old_" + id }},
	} {
		t.Run(c.scheme, func(t *testing.T) {
			recv := startServer(t, nil, 1, "receiver", "--listen", "127.0.0.1:0", "--scheme", c.scheme, "--secret", c.secret, "--quiet")
			args := append([]string{"replay", path, "--to", recv.url, "--rate", "1000", "--scheme", c.scheme, "--secret", c.secret}, c.extra...)
			code, stdout, stderr := runOnce(ctx, "", args...)
			if code != exitOK {
				t.Fatalf("exit %d; stderr %s\n%s", code, stderr, stdout)
			}
			if !strings.Contains(stdout, "re-signed as "+c.scheme) {
				t.Errorf("report does not say it re-signed as %s:\n%s", c.scheme, stdout)
			}
			var st receiver.Stats
			getJSON(t, recv.url+"/v1/stats", &st)
			if st.Received != n || st.Unique != n || st.Rejected != 0 || st.Duplicates != 0 {
				t.Fatalf("receiver: %+v; want %d unique, none rejected", st, n)
			}
			var page struct{ Receipts []struct{ ID string } }
			getJSON(t, recv.url+"/v1/receipts", &page)
			want := map[string]bool{}
			for id := range ids {
				want[c.idOf(id)] = true
			}
			for _, rc := range page.Receipts {
				if !want[rc.ID] {
					t.Errorf("receipt of %q, not a captured id", rc.ID)
				}
				delete(want, rc.ID)
			}
			if len(want) != 0 {
				t.Errorf("%d captured ids not received", len(want))
			}
		})
	}

	code, _, stderr := runOnce(ctx, "", "replay", path, "--to", "http://127.0.0.1:1", "--scheme", "stripe", "--secret", stripe, "--new-ids")
	if code != exitError || !strings.Contains(stderr, "new ids with scheme stripe: its id is in the body (json:id)") {
		t.Errorf("--new-ids with stripe: exit %d, %s", code, stderr)
	}
	code, _, stderr = runOnce(ctx, "", "replay", path, "--to", "http://127.0.0.1:1", "--scheme", "stripe")
	if code != exitError || !strings.Contains(stderr, "give --secret") {
		t.Errorf("--scheme without --secret: exit %d, %s", code, stderr)
	}
}

// getJSON decodes the answer of GET url into v.
func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
