package receiver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/reference/webhook"
)

const (
	secretA = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	secretB = "whsec_c2Vjb25kIHNlY3JldCBmb3Igcm90YXRpb24="
	secretC = "whsec_dGhpcmQsIHVua25vd24gdG8gdGhlIHJlY2VpdmVy"
)

// t0 is the fake clock's start.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

// rig is a receiver on a real loopback server with a fake clock.
type rig struct {
	t     *testing.T
	r     *Receiver
	srv   *testServer
	clock *clock.Fake
	sign  *webhook.Signer
}

// newRig starts a receiver; cfg.Secrets defaults to secretA and the clock
// to a fake one at t0 (pass a *clock.Fake to share one across restarts).
func newRig(t *testing.T, cfg Config) *rig {
	t.Helper()
	fake, ok := cfg.Clock.(*clock.Fake)
	if !ok {
		fake = clock.NewFake(t0)
		cfg.Clock = fake
	}
	if cfg.Secrets == nil {
		cfg.Secrets = []string{secretA}
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() }) // runs after serveFast's: the server stops first
	srv := serveFast(t, r)
	sign, err := webhook.NewSigner(secretA)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{t: t, r: r, srv: srv, clock: fake, sign: sign}
}

// testServer is a receiver's Server (the front cmd/hookrig serves) on a
// loopback port, shaped like the httptest.Server the tests used before.
type testServer struct {
	URL    string
	client *http.Client
}

func (s *testServer) Client() *http.Client { return s.client }

// serveFast serves r with its fasthttp Server until the test ends.
func serveFast(t testing.TB, r *Receiver) *testServer { return serveFastWith(t, r, ServerConfig{}) }

func serveFastWith(t testing.TB, r *Receiver, cfg ServerConfig) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.NewServer(cfg).Serve(ctx, ln, 5*time.Second) }()
	tr := &http.Transport{}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serving: %v", err)
		}
	})
	return &testServer{URL: "http://" + ln.Addr().String(), client: &http.Client{Transport: tr}}
}

// answer is what a post got back.
type answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// errorText decodes a JSON error answer.
func (a answer) errorText() string {
	var e struct {
		Error string `json:"error"`
	}
	json.Unmarshal(a.Body, &e)
	return e.Error
}

// webhookReq builds a signed webhook request at the fake clock's time.
func (g *rig) webhookReq(path, id string, body []byte) *http.Request {
	req, err := http.NewRequest("POST", g.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		g.t.Fatal(err)
	}
	g.sign.SetHeaders(req.Header, id, g.clock.Now(), body)
	req.Header.Set("Content-Type", "application/json")
	return req
}

// do sends req and reads the whole answer.
func (g *rig) do(req *http.Request) answer {
	g.t.Helper()
	resp, err := g.srv.Client().Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		g.t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, b}
}

// post sends a correctly signed webhook with the given attempt number.
func (g *rig) post(id string, attemptN int) answer {
	g.t.Helper()
	req := g.webhookReq("/webhooks", id, []byte(`{"type":"test","n":`+strconv.Itoa(attemptN)+`}`))
	if attemptN > 0 {
		req.Header.Set(webhook.HeaderAttempt, strconv.Itoa(attemptN))
	}
	return g.do(req)
}

// get fetches an API path and decodes the JSON answer into v.
func (g *rig) get(path string, v any) int {
	g.t.Helper()
	resp, err := g.srv.Client().Get(g.srv.URL + path)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		g.t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		g.t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode
}

// checkBalance asserts that every received request is counted in exactly
// one outcome.
func checkBalance(t *testing.T, s Stats) {
	t.Helper()
	sum := s.Unique + s.Duplicates + s.Rejected + s.Conflicts + s.Failed + s.Overloaded + s.Unkept + s.RateLimited
	if s.Received != sum {
		t.Errorf("stats do not balance: received %d, outcomes %d: %+v", s.Received, sum, s)
	}
}

// lastReceipt returns the newest receipt.
func (g *rig) lastReceipt() Receipt {
	g.t.Helper()
	all := g.r.Receipts(0, 0)
	if len(all) == 0 {
		g.t.Fatal("no receipts")
	}
	return all[len(all)-1]
}

func fakeAt(at time.Time) *clock.Fake { return clock.NewFake(at) }
