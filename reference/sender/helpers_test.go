package sender

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/reference/sender/delivery"
	"github.com/hookrig/hookrig/reference/webhook"
)

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// wait bounds every blocking step of a test.
const wait = 20 * time.Second

// hit is one request as a test endpoint saw it.
type hit struct {
	ID        string
	Attempt   int
	Timestamp int64
	Body      string
	Verified  error
	UserAgent string
}

// endpoint is a real HTTP webhook endpoint on loopback. answer decides
// each response; hits receives every request.
type endpoint struct {
	srv  *httptest.Server
	hits chan hit
	mu   sync.Mutex
	all  []hit
}

func newEndpoint(t *testing.T, clk clock.Clock, answer func(h hit, w http.ResponseWriter, r *http.Request)) *endpoint {
	t.Helper()
	v, err := webhook.NewVerifier(0, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	e := &endpoint{hits: make(chan hit, 100_000)}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n, _ := strconv.Atoi(r.Header.Get(webhook.HeaderAttempt))
		ts, _ := strconv.ParseInt(r.Header.Get(webhook.HeaderTimestamp), 10, 64)
		h := hit{ID: r.Header.Get(webhook.HeaderID), Attempt: n, Timestamp: ts, Body: string(body),
			Verified: v.Verify(r.Header, body, clk.Now()), UserAgent: r.UserAgent()}
		e.mu.Lock()
		e.all = append(e.all, h)
		e.mu.Unlock()
		e.hits <- h
		if answer != nil {
			answer(h, w, r)
		}
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *endpoint) seen() []hit {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]hit(nil), e.all...)
}

func (e *endpoint) next(t *testing.T) hit {
	t.Helper()
	select {
	case h := <-e.hits:
		return h
	case <-time.After(wait):
		t.Fatal("no request reached the endpoint")
		return hit{}
	}
}

// harness is a Sender on a temp dir with its attempt reports.
type harness struct {
	*Sender
	dir     string
	reports chan AttemptReport
}

func openHarness(t *testing.T, dir string, cfg Config) *harness {
	t.Helper()
	h := &harness{dir: dir, reports: make(chan AttemptReport, 100_000)}
	cfg.DataDir = dir
	if cfg.Seed == 0 {
		cfg.Seed = 42
	}
	cfg.OnAttempt = func(r AttemptReport) { h.reports <- r }
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.Sender = s
	t.Cleanup(func() { s.Close() })
	return h
}

func (h *harness) report(t *testing.T) AttemptReport {
	t.Helper()
	select {
	case r := <-h.reports:
		return r
	case <-time.After(wait):
		t.Fatalf("no attempt reported; stats %+v", h.Stats())
		return AttemptReport{}
	}
}

// untilFinal collects reports until n events reached a final decision.
func (h *harness) untilFinal(t *testing.T, n int) []AttemptReport {
	t.Helper()
	var out []AttemptReport
	for final := 0; final < n; {
		r := h.report(t)
		out = append(out, r)
		if r.Decision != delivery.RetryAt {
			final++
		}
	}
	return out
}

func (h *harness) endpoint(t *testing.T, url string, p *delivery.Policy) Endpoint {
	t.Helper()
	ep, err := h.CreateEndpoint(EndpointSpec{URL: url, Secret: testSecret, Policy: p})
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

func (h *harness) enqueue(t *testing.T, specs ...EventSpec) []string {
	t.Helper()
	ids, err := h.Enqueue(context.Background(), specs)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func ev(endpoint, key, payload string) EventSpec {
	return EventSpec{Endpoint: endpoint, Type: "test.event", Key: key, Payload: []byte(payload)}
}

// quickPolicy retries at once, up to n attempts.
func quickPolicy(n int) *delivery.Policy {
	p := delivery.DefaultPolicy()
	p.Schedule = make([]time.Duration, n)
	p.MaxAttempts = n
	p.Breaker = delivery.BreakerPolicy{}
	return &p
}

// t0 is when fake clocks start.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
