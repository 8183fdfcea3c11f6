package receiver

import (
	"bytes"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookrig/hookrig/internal/capture"
	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/reference/webhook"
)

const captureSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func captureServer(t *testing.T, cfg Config) (*Receiver, string) {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() }) // runs after serveFast's: the server stops first
	return r, serveFast(t, r).URL
}

func post(t *testing.T, url string, h http.Header, body []byte) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestCaptureStoresRequestsWhole: good, forged and oversized requests are
// all captured before verification, bodies byte for byte (binary, not
// JSON, included), the oversized one marked as cut; the answers are the
// receiver's usual ones.
func TestCaptureStoresRequestsWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cap.jsonl")
	clk := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	r, url := captureServer(t, Config{Secrets: []string{captureSecret}, Clock: clk, MaxBody: 64, Capture: CaptureConfig{Path: path}})
	s, _ := webhook.NewSigner(captureSecret)
	good := []byte(`{"type":"order.paid","n":1}`)
	h := http.Header{}
	s.SetHeaders(h, "msg_1", clk.Now(), good)
	h.Set("X-Provider", "acme")
	forged := []byte{0, 1, 2, 0xff, '\n', '"'}
	big := bytes.Repeat([]byte("x"), 65)
	codes := []int{
		post(t, url+"/hooks?src=a", h, good),
		post(t, url+"/hooks", http.Header{"Webhook-Id": {"msg_2"}}, forged),
		post(t, url+"/hooks", h, big),
	}
	if want := []int{200, 401, 413}; codes[0] != want[0] || codes[1] != want[1] || codes[2] != want[2] {
		t.Fatalf("answers %v, want %v", codes, want)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := capture.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d captured, want 3", len(got))
	}
	if g := got[0]; g.Path != "/hooks?src=a" || g.Method != "POST" || !bytes.Equal(g.Body, good) ||
		g.Header.Get("X-Provider") != "acme" || g.Header.Get("Webhook-Id") != "msg_1" || !g.At.Equal(clk.Now()) || !g.Whole() {
		t.Errorf("first capture %+v", g)
	}
	if !bytes.Equal(got[1].Body, forged) || !got[1].Whole() {
		t.Errorf("forged body captured as %q, want %q", got[1].Body, forged)
	}
	if g := got[2]; g.Whole() || len(g.Body) != 0 || g.Size != 65 || !strings.Contains(g.Cut, "limit of 64 bytes") {
		t.Errorf("oversized capture %+v: want it cut and saying why", g)
	}
	if st := r.Stats(); st.Capture == nil || st.Capture.Captured != 3 || st.Capture.Cut != 1 || st.Unique != 1 {
		t.Errorf("stats %+v capture %+v", st, st.Capture)
	}
}

// TestCaptureOnlyAcceptsWithoutSecret: --capture-only needs no secret and
// acknowledges what it keeps, verified or not.
func TestCaptureOnlyAcceptsWithoutSecret(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cap.jsonl")
	r, url := captureServer(t, Config{Capture: CaptureConfig{Path: path, Only: true}})
	if c := post(t, url+"/stripe", http.Header{"Stripe-Signature": {"t=1,v1=ab"}}, []byte("not json")); c != 200 {
		t.Fatalf("capture-only answered %d, want 200", c)
	}
	r.Close()
	got, err := capture.Load(path)
	if err != nil || len(got) != 1 || string(got[0].Body) != "not json" || got[0].Header.Get("Stripe-Signature") != "t=1,v1=ab" {
		t.Fatalf("capture %v, %v", got, err)
	}
	if _, err := New(Config{}); err == nil {
		t.Error("a receiver with neither secret nor capture-only was built")
	}
	if _, err := New(Config{Capture: CaptureConfig{Only: true}}); err == nil || !strings.Contains(err.Error(), "capture file") {
		t.Errorf("capture-only without a file: %v, want an error naming the capture file", err)
	}
}
