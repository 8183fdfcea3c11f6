package loadgen

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookrig/hookrig/internal/capture"
	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/reference/webhook"
)

const replayTestSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func captured(at ...time.Duration) []*capture.Request {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var out []*capture.Request
	for i, d := range at {
		out = append(out, &capture.Request{
			At: t0.Add(d), Method: "POST", Path: "/hooks?n=" + string(rune('a'+i)),
			Header: http.Header{"Webhook-Id": {"msg_" + string(rune('a'+i))}, "Content-Type": {"application/json"}, "Content-Length": {"99"}},
			Body:   []byte(`{"n":"` + string(rune('a'+i)) + `"}`),
		})
	}
	return out
}

// The intended send times are the captured spacing divided by Speed, or
// Rate's even spacing; an arrival out of order is sent right after the
// one before it.
func TestReplaySchedule(t *testing.T) {
	reqs := captured(0, time.Second, 3*time.Second, 2*time.Second)
	for _, c := range []struct {
		name        string
		speed, rate float64
		want        []time.Duration
	}{
		{"as captured", 1, 0, []time.Duration{0, time.Second, 3 * time.Second, 3 * time.Second}},
		{"10x", 10, 0, []time.Duration{0, 100 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond}},
		{"rate 4/s", 10, 4, []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond, 750 * time.Millisecond}},
	} {
		cfg := ReplayConfig{Requests: reqs, Speed: c.speed, Rate: c.rate}
		got := cfg.schedule()
		for i := range c.want {
			if got[i] != c.want[i] {
				t.Errorf("%s: send times %v, want %v", c.name, got, c.want)
				break
			}
		}
	}
}

// recorder is a real endpoint that keeps what it was sent.
type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
	body [][]byte
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.reqs, r.body = append(r.reqs, req), append(r.body, b)
	r.mu.Unlock()
	if strings.Contains(string(b), `"c"`) {
		http.Error(w, `{"error":"no c here"}`, http.StatusConflict)
	}
}

// Re-signed with new ids, each request keeps its path, method, headers
// and body; the signature verifies; a cut request is skipped; a refusal
// is reported with the target's reason.
func TestReplayResignsWithNewIDs(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	reqs := captured(0, time.Millisecond, 2*time.Millisecond, 3*time.Millisecond)
	reqs[3].Cut, reqs[3].Body = "over the limit", nil
	signer, _ := webhook.NewSigner(replayTestSecret)
	clk := clock.Real{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := Replay(ctx, ReplayConfig{Requests: reqs, To: srv.URL, Rate: 1000, Signer: signer, NewIDs: true, IDPrefix: "r_", Clock: clk, Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 3 || res.Skipped != 1 || res.StatusCodes[200] != 2 || res.StatusCodes[409] != 1 {
		t.Fatalf("sent %d, skipped %d, status %v; want 3 sent (2x200, 1x409), 1 skipped", res.Requests, res.Skipped, res.StatusCodes)
	}
	if len(res.Causes) != 1 || res.Causes[0] != (Cause{Status: 409, Reason: "no c here", Count: 1}) {
		t.Errorf("causes %+v, want 409 x1 \"no c here\"", res.Causes)
	}
	v, _ := webhook.NewVerifier(0, replayTestSecret)
	for i, req := range rec.reqs {
		if req.URL.RequestURI() != reqs[i].Path || !bytes.Equal(rec.body[i], reqs[i].Body) {
			t.Errorf("request %d: %s %q, want %s %q", i, req.URL.RequestURI(), rec.body[i], reqs[i].Path, reqs[i].Body)
		}
		if id := req.Header.Get("Webhook-Id"); id != "r_"+string(rune('1'+i)) {
			t.Errorf("request %d: webhook-id %q, want a new one", i, id)
		}
		if err := v.Verify(req.Header, rec.body[i], time.Now()); err != nil {
			t.Errorf("request %d does not verify: %v", i, err)
		}
	}
	var b strings.Builder
	WriteCauses(&b, res)
	if !strings.Contains(b.String(), "refused      409 ×1: no c here") || !strings.Contains(b.String(), "skipped      1 captured") {
		t.Errorf("causes text:\n%s", b.String())
	}
}

func TestReplayRefusesMistakes(t *testing.T) {
	reqs := captured(0)
	for _, c := range []struct {
		cfg  ReplayConfig
		want string
	}{
		{ReplayConfig{To: "http://x", Clock: clock.Real{}}, "no captured requests"},
		{ReplayConfig{Requests: reqs, To: "ftp://x", Clock: clock.Real{}}, "want an http:// or https:// URL"},
		{ReplayConfig{Requests: reqs, To: "http://x", Clock: clock.Real{}, NewIDs: true}, "need a secret"},
	} {
		if _, err := Replay(context.Background(), c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
}

// A capture's bodies are sent in turn, byte for byte; cut ones are left out.
func TestCapturePayload(t *testing.T) {
	reqs := captured(0, 0, 0)
	reqs[1].Cut = "over the limit"
	p, err := CapturePayload("cap.jsonl", reqs)
	if err != nil {
		t.Fatal(err)
	}
	for seq, want := range []string{`{"n":"a"}`, `{"n":"c"}`, `{"n":"a"}`} {
		got, err := p.Sample(uint64(seq), 1)
		if err != nil || string(got) != want {
			t.Errorf("body %d: %q, %v; want %q", seq, got, err, want)
		}
	}
	reqs[0].Cut, reqs[2].Cut = "x", "x"
	if _, err := CapturePayload("cap.jsonl", reqs); err == nil || !strings.Contains(err.Error(), "cap.jsonl: no request") {
		t.Errorf("all cut: %v, want an error naming the file", err)
	}
}
