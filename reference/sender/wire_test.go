package sender

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/reference/sender/delivery"
)

// wireServer is a loopback endpoint that counts the connections it
// accepted and the requests it answered.
type wireServer struct {
	*httptest.Server
	conns, requests atomic.Int64
}

func newWireServer(t *testing.T, h http.HandlerFunc) *wireServer {
	t.Helper()
	s := &wireServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		h(w, r)
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func wirePost(t *testing.T, c *http.Client, ctx context.Context, url string, h http.Header) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

func TestWireKeepsConnectionsAlive(t *testing.T) {
	var got atomic.Value
	srv := newWireServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Store(r.Method + " " + r.URL.RequestURI() + " " + r.Header.Get("X-Test") + " " + string(b))
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "ok")
	})
	tr := newWireTransport(4, targetGuard{})
	defer tr.CloseIdleConnections()
	c := newClient(tr)
	for range 3 {
		resp, err := wirePost(t, c, context.Background(), srv.URL+"/hooks?x=1", http.Header{"X-Test": {"v"}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusAccepted || resp.Header.Get("Retry-After") != "7" {
			t.Fatalf("answer %d %v, want 202 with Retry-After 7", resp.StatusCode, resp.Header)
		}
	}
	if g := got.Load(); g != `POST /hooks?x=1 v {"a":1}` {
		t.Errorf("endpoint saw %q", g)
	}
	if n := srv.conns.Load(); n != 1 {
		t.Errorf("%d connections for 3 requests in turn, want 1 kept alive", n)
	}
}

// A connection the endpoint closed while it was idle is noticed before a
// request is written on it: the request goes once, on a new connection.
func TestWireIdleConnectionClosedByEndpoint(t *testing.T) {
	srv := newWireServer(t, func(w http.ResponseWriter, r *http.Request) {})
	tr := newWireTransport(4, targetGuard{})
	defer tr.CloseIdleConnections()
	c := newClient(tr)
	if _, err := wirePost(t, c, context.Background(), srv.URL, nil); err != nil {
		t.Fatal(err)
	}
	srv.CloseClientConnections()
	// The close may still be on its way: the check sees it once it has
	// arrived, and a request that finds the connection open is answered.
	if _, err := wirePost(t, c, context.Background(), srv.URL, nil); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	if _, err := wirePost(t, c, context.Background(), srv.URL, nil); err != nil {
		t.Fatalf("after the endpoint closed an idle connection: %v", err)
	}
	if n := srv.requests.Load(); n < 2 || n > 3 {
		t.Errorf("endpoint answered %d requests, want each of the 3 at most once", n)
	}
}

// An answer's body past maxDrain is not read: the status stands and the
// connection is closed instead of drained.
func TestWireAnswerBodyBounded(t *testing.T) {
	big := strings.Repeat("x", maxDrain+1)
	srv := newWireServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, big)
	})
	tr := newWireTransport(4, targetGuard{})
	defer tr.CloseIdleConnections()
	c := newClient(tr)
	for range 2 {
		resp, err := wirePost(t, c, context.Background(), srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusInternalServerError {
			t.Fatalf("status %d, want 500", resp.StatusCode)
		}
	}
	if n := srv.conns.Load(); n != 2 {
		t.Errorf("%d connections for 2 answers past the bound, want 2 (none reused)", n)
	}
}

func TestWireRedirectNotFollowed(t *testing.T) {
	var elsewhere atomic.Int64
	other := newWireServer(t, func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) })
	srv := newWireServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL, http.StatusTemporaryRedirect)
	})
	tr := newWireTransport(4, targetGuard{})
	defer tr.CloseIdleConnections()
	resp, err := wirePost(t, newClient(tr), context.Background(), srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusTemporaryRedirect || elsewhere.Load() != 0 {
		t.Errorf("status %d, %d requests elsewhere; want 307 returned as is, none followed", resp.StatusCode, elsewhere.Load())
	}
}

// The attempt's context ends an exchange the endpoint never answers, and
// the connection is not kept.
func TestWireContextEndsExchange(t *testing.T) {
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	srv := newWireServer(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
	})
	defer close(release)
	tr := newWireTransport(4, targetGuard{})
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-arrived; cancel() }()
	_, err := wirePost(t, newClient(tr), ctx, srv.URL, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want the context's", err)
	}
	tr.mu.Lock()
	idle := len(tr.idle)
	tr.mu.Unlock()
	if idle != 0 {
		t.Errorf("%d hosts with idle connections, want none kept after a cut exchange", idle)
	}
}

func TestWireHeaderLineBreakRefused(t *testing.T) {
	srv := newWireServer(t, func(w http.ResponseWriter, r *http.Request) {})
	tr := newWireTransport(4, targetGuard{})
	defer tr.CloseIdleConnections()
	_, err := wirePost(t, newClient(tr), context.Background(), srv.URL, http.Header{"X-Bad": {"a\r\nX-Injected: 1"}})
	if err == nil || !strings.Contains(err.Error(), "line break") {
		t.Errorf("err %v, want a header with a line break refused", err)
	}
	if n := srv.requests.Load(); n != 0 {
		t.Errorf("endpoint got %d requests, want none", n)
	}
}

// The dispatcher sends to http:// endpoints on the sender's own client
// without http.Client (postWire); it must answer as the same transport
// through http.Client does: status, Retry-After, the start of a failed
// answer (none when the body is past maxDrain), errors named the same.
func TestPostWireAnswersAsTheClient(t *testing.T) {
	srv := newWireServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("webhook-id") == "" || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		switch r.URL.Query().Get("answer") {
		case "503":
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, strings.Repeat("busy ", 100))
		case "big":
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, strings.Repeat("x", maxDrain+1))
		}
	})
	own := newWireTransport(4, targetGuard{})
	defer own.CloseIdleConnections()
	viaOwn := newDispatcher(clock.Real{}, delivery.NewJitter(1), 4, newClient(own), nil, nil)
	viaStd := newDispatcher(clock.Real{}, delivery.NewJitter(1), 4, newClient(own), nil, nil)
	viaStd.wire = nil // the same transport through http.Client, as before postWire
	if viaOwn.wire == nil {
		t.Fatal("the dispatcher does not send on its own client")
	}
	for _, u := range []string{srv.URL + "/hooks", srv.URL + "/hooks?answer=503", srv.URL + "/hooks?answer=big", "http://127.0.0.1:9/closed"} {
		rt, err := newEndpointRT(&Endpoint{ID: "ep_1", URL: u, Secret: testSecret, Policy: delivery.DefaultPolicy()})
		if err != nil || rt.target == nil {
			t.Fatalf("%s: %v, target %v", u, err, rt.target)
		}
		j := &job{it: &item{ep: rt}, n: 1, ev: eventRecord{ID: "msg_1", Payload: []byte(`{"a":1}`)}}
		type answer struct {
			Status     int
			RetryAfter time.Duration
			Detail     string
			Err        string
		}
		post := func(d *dispatcher) answer {
			status, ra, detail, err := d.post(context.Background(), rt, j, time.Now())
			a := answer{Status: status, RetryAfter: ra, Detail: detail}
			if err != nil {
				a.Err = string(ClassifyError(err, false)) + ": " + err.Error()
			}
			return a
		}
		if a, b := post(viaOwn), post(viaStd); a != b {
			t.Errorf("%s: own client %+v, http.Client %+v", u, a, b)
		} else {
			t.Logf("%s: %+v", u, a)
		}
	}
}
