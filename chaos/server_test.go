package chaos

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
)

// The proxy's own HTTP/1.1 server and upstream pool (server.go,
// upstream.go, conn.go, watchdog.go), at the wire.

func TestHeadContinueChunkedAndHTTP10PassThrough(t *testing.T) {
	up, hits := startUpstream(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Length", "5")
		w.Write([]byte("hello"))
	})
	tp := startProxy(t, up.URL, "", Config{})

	// HEAD: the length of the body that is not sent.
	resp, err := tp.client.Head(tp.URL() + "/h")
	if err != nil || resp.StatusCode != 200 || resp.ContentLength != 5 {
		t.Fatalf("HEAD: %+v %v", resp, err)
	}
	resp.Body.Close()
	if h := getHit(t, hits); h.Method != "HEAD" {
		t.Errorf("upstream got %+v", h)
	}
	tp.record(t)

	// Expect: 100-continue, and a body of unknown length (chunked).
	tr := &http.Transport{ExpectContinueTimeout: wait}
	defer tr.CloseIdleConnections()
	body := strings.Repeat("b", 3000)
	req, _ := http.NewRequest("POST", tp.URL()+"/c", io.MultiReader(strings.NewReader(body)))
	req.Header.Set("Expect", "100-continue")
	resp, err = (&http.Client{Transport: tr, Timeout: wait}).Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("100-continue: %+v %v", resp, err)
	}
	resp.Body.Close()
	if h := getHit(t, hits); h.Body != body {
		t.Errorf("upstream got %d bytes, want %d", len(h.Body), len(body))
	}
	tp.record(t)

	// HTTP/1.0 without keep-alive: answered, then closed.
	out := rawRequest(t, tp.Addr(), "POST /old HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}")
	if !strings.Contains(out, " 200 ") || !strings.HasSuffix(out, "hello") {
		t.Errorf("HTTP/1.0 client got %q", out)
	}
	getHit(t, hits)
	tp.record(t)
}

// rawRequest is rawSend that must succeed.
func rawRequest(t *testing.T, addr, msg string) string {
	t.Helper()
	b, err := rawSend(t, addr, msg)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPipelinedRequestsAreAnsweredInOrder(t *testing.T) {
	up, _ := startUpstream(t, func(w http.ResponseWriter, r *http.Request, n int) { io.WriteString(w, r.URL.Path) })
	tp := startProxy(t, up.URL, "", Config{})
	var msg strings.Builder
	for i := range 5 {
		fmt.Fprintf(&msg, "POST /p%d HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", i)
	}
	msg.WriteString("GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	out := rawRequest(t, tp.Addr(), msg.String())
	br := bufio.NewReader(strings.NewReader(out))
	for _, want := range []string{"/p0", "/p1", "/p2", "/p3", "/p4", "/last"} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("reading the answer for %s: %v (all: %q)", want, err, out)
		}
		b, _ := io.ReadAll(resp.Body)
		if string(b) != want {
			t.Errorf("got %q, want %q", b, want)
		}
	}
}

// Bodies larger than a socket buffer, both ways, on kept-alive
// connections: the writes that cannot finish at once.
func TestLargeBodiesBothWays(t *testing.T) {
	up, _ := startUpstream(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Write(bytes.Repeat([]byte{'r'}, 3<<20))
	})
	tp := startProxy(t, up.URL, "", Config{})
	body := strings.Repeat("q", 3<<20)
	for range 3 {
		resp, got, err := tp.post(t, "/big", nil, body)
		if err != nil || resp.StatusCode != 200 || len(got) != 3<<20 {
			t.Fatalf("got %v, %d bytes, %v", resp, len(got), err)
		}
		if rec := tp.record(t); rec.UpstreamStatus != 200 {
			t.Errorf("record %+v", rec)
		}
	}
}

// startTimedProxy starts a proxy whose connection timeouts run on a fake
// clock, and waits for its watchdog's first tick to be set.
func startTimedProxy(t *testing.T, upstreamURL string, cfg Config) (*testProxy, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(time.Unix(0, 0))
	cfg.NetClock = clk
	ticking := clk.TimerCreated() // the watchdog's first, at Start
	tp := startProxy(t, upstreamURL, "", cfg)
	awaitTimer(t, ticking)
	return tp, clk
}

func awaitTimer(t *testing.T, created <-chan struct{}) {
	t.Helper()
	select {
	case <-created:
	case <-time.After(wait):
		t.Fatal("the watchdog set no timer")
	}
}

// awaitPhase waits until one of the proxy's connections is in phase (the
// server goroutine gets there on its own time; the fake clock must not run
// ahead of it).
func awaitPhase(t *testing.T, tp *testProxy, phase watchPhase) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		found := false
		tp.conns.each(func(w *wireConn) { found = found || watchPhase(w.watch.Load()>>32) == phase })
		if found {
			return
		}
		runtime.Gosched()
	}
	t.Fatalf("no connection reached phase %d", phase)
}

// tickUntil advances the watchdog one tick at a time until done is
// ready (at most limit of fake time), and returns the fake time it took.
func tickUntil[T any](t *testing.T, tp *testProxy, clk *clock.Fake, limit time.Duration, done <-chan T) (T, time.Duration) {
	t.Helper()
	start := clk.Now()
	for clk.Now().Sub(start) <= limit {
		select {
		case v := <-done:
			return v, clk.Now().Sub(start)
		default:
		}
		created := clk.TimerCreated()
		clk.Advance(tp.dog.every)
		awaitTimer(t, created)
	}
	select {
	case v := <-done:
		return v, clk.Now().Sub(start)
	case <-time.After(wait):
		t.Fatalf("nothing after %s of the watchdog's time", limit)
	}
	var zero T
	return zero, 0
}

// A client that starts a request and stalls gets 408 after a minute of
// the net clock, and the attempt is recorded.
func TestStalledRequestTimesOut(t *testing.T) {
	up, hits := startUpstream(t, nil)
	tp, clk := startTimedProxy(t, up.URL, Config{})
	c, err := net.Dial("tcp", tp.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * wait))
	io.WriteString(c, "POST /stall HTTP/1.1\r\nHost: x\r\nwebhook-id: evt_s\r\nContent-Length: 10\r\n\r\n{}")
	awaitPhase(t, tp, phaseRequest)
	got := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(c)
		got <- string(b)
	}()
	out, took := tickUntil(t, tp, clk, 3*readTimeout, got)
	if !strings.HasPrefix(out, "HTTP/1.1 408") {
		t.Fatalf("client got %q", out)
	}
	if took < readTimeout {
		t.Errorf("cut after %s, before the %s read timeout", took, readTimeout)
	}
	if rec := tp.record(t); rec.ClientStatus != 408 || rec.EventID != "evt_s" || rec.Forwarded != 0 {
		t.Errorf("record %+v", rec)
	}
	noHit(t, hits)
}

// An upstream that does not answer within UpstreamTimeout of the net
// clock gets the client a 502 naming the timeout.
func TestUpstreamTimeoutOnTheNetClock(t *testing.T) {
	release := make(chan struct{})
	up, hits := startUpstream(t, func(w http.ResponseWriter, r *http.Request, n int) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	tp, clk := startTimedProxy(t, up.URL, Config{UpstreamTimeout: 2 * time.Second})
	type answer struct {
		status int
		body   string
		err    error
	}
	got := make(chan answer, 1)
	go func() {
		resp, body, err := tp.post(t, "/slow", nil, "{}")
		if err != nil {
			got <- answer{err: err}
			return
		}
		got <- answer{resp.StatusCode, body, nil}
	}()
	getHit(t, hits) // the proxy awaits the answer
	a, took := tickUntil(t, tp, clk, time.Minute, got)
	if a.err != nil || a.status != 502 || !strings.Contains(a.body, "timeout") {
		t.Fatalf("client got %+v", a)
	}
	if took < 2*time.Second {
		t.Errorf("cut after %s, before the 2s upstream timeout", took)
	}
	if rec := tp.record(t); rec.UpstreamErr != "timeout" || rec.ClientStatus != 502 || rec.Forwarded != 1 {
		t.Errorf("record %+v", rec)
	}
}

// Upstream connections are reused while busy and closed once idle for
// poolIdle.
func TestUpstreamConnectionsAreReusedThenClosedWhenIdle(t *testing.T) {
	var mu sync.Mutex
	states := map[http.ConnState]int{}
	closed := make(chan struct{}, 10)
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	up.Config.ConnState = func(c net.Conn, s http.ConnState) {
		mu.Lock()
		states[s]++
		mu.Unlock()
		if s == http.StateClosed {
			closed <- struct{}{}
		}
	}
	up.Start()
	t.Cleanup(up.Close)
	tp, clk := startTimedProxy(t, up.URL, Config{})
	for range 5 {
		if resp, _, err := tp.post(t, "/", nil, "{}"); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%v %v", resp, err)
		}
		tp.record(t)
	}
	mu.Lock()
	if states[http.StateNew] != 1 {
		t.Errorf("the upstream saw %d connections for 5 requests in a row, want 1", states[http.StateNew])
	}
	mu.Unlock()
	_, took := tickUntil(t, tp, clk, 10*poolIdle, closed)
	if took < poolIdle {
		t.Errorf("closed after %s idle, before %s", took, poolIdle)
	}
}

// Close ends kept-alive idle connections at once (it does not wait out
// its grace for them).
func TestCloseEndsIdleConnections(t *testing.T) {
	up, _ := startUpstream(t, nil)
	tp := startProxy(t, up.URL, "", Config{})
	c, err := net.Dial("tcp", tp.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	br := bufio.NewReader(c)
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body)
	if err := tp.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("the idle connection read %v, want EOF", err)
	}
}
