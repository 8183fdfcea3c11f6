package receiver

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/internal/httpapi"
	"github.com/hookrig/hookrig/reference/webhook"
)

// startServer serves a fresh receiver on a loopback port until the
// returned cancel; done yields Serve's error.
func startServer(t *testing.T, grace time.Duration) (addr string, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, cancel, done = serveOn(t, Config{}, ln, grace)
	return ln.Addr().String(), cancel, done
}

// serveOn serves a receiver of cfg (secretA and a fake clock at t0 unless
// set) on ln until the returned cancel; done yields Serve's error.
func serveOn(t *testing.T, cfg Config, ln net.Listener, grace time.Duration) (r *Receiver, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	if cfg.Secrets == nil {
		cfg.Secrets = []string{secretA}
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.NewFake(t0)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	errc := make(chan error, 1)
	go func() { errc <- r.NewServer(ServerConfig{}).Serve(ctx, ln, grace) }()
	return r, cancel, errc
}

// served waits (boundedly) for Serve to return and wants no error.
func served(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
}

// A Server cancelled before it has begun to listen still stops: fasthttp's
// own shutdown ignores a Serve it has not seen yet.
func TestServerStopsWhenCancelledAtOnce(t *testing.T) {
	_, cancel, done := startServer(t, time.Minute)
	cancel()
	served(t, done)
}

// An idle keep-alive connection does not hold a shutdown up: it is closed.
func TestServerShutdownClosesIdleConnections(t *testing.T) {
	addr, cancel, done := startServer(t, time.Minute)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	io.WriteString(c, "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
	buf := make([]byte, 4096)
	if _, err := c.Read(buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	served(t, done)
	if _, err := io.ReadAll(c); err != nil {
		t.Errorf("reading the closed connection: %v, want EOF", err)
	}
}

// A connection still busy when the grace period ends is cut, and Serve
// returns: a client that stalls half-way through its body cannot hold a
// shutdown up.
func TestServerShutdownCutsWhatGraceLeaves(t *testing.T) {
	addr, cancel, done := startServer(t, 50*time.Millisecond)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	io.WriteString(c, "POST /hooks HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\":")
	// A health check on another connection answers once the first request
	// is being read: the server then has both.
	h, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	io.WriteString(h, "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, err := h.Read(make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	cancel()
	served(t, done)
	if _, err := io.ReadAll(c); err != nil && !isReset(err) {
		t.Errorf("reading the cut connection: %v, want it closed", err)
	}
}

// At the connection cap, a new client gets in by closing an idle
// keep-alive connection (the Server tells httpapi's limiter which are
// idle), and the answer held back on that connection is not lost.
func TestServerMakesRoomAtTheConnectionCap(t *testing.T) {
	ln, err := httpapi.ListenCapped("127.0.0.1:0", 2)
	if err != nil {
		t.Fatal(err)
	}
	_, cancel, done := serveOn(t, Config{}, ln, time.Minute)
	defer func() { cancel(); served(t, done) }()
	health := func() (net.Conn, int) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		io.WriteString(c, "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("health: %v", err)
		}
		resp.Body.Close()
		return c, resp.StatusCode
	}
	for range 2 {
		c, status := health()
		defer c.Close()
		if status != http.StatusOK {
			t.Fatalf("status %d under the cap", status)
		}
	}
	c, status := health()
	defer c.Close()
	if status != http.StatusOK {
		t.Errorf("status %d at the cap, want 200 (an idle connection closed to make room)", status)
	}
	if n := ln.(*httpapi.ConnLimiter).Reaped(); n != 1 {
		t.Errorf("%d idle connections closed, want 1", n)
	}
}

// A webhook processed before its ack when a shutdown begins is given the
// grace period, as on net/http: its processing is not cancelled, and its
// client gets the ack.
func TestServerShutdownLetsProcessingBeforeTheAckFinish(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	procErr := make(chan error, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r, cancel, done := serveOn(t, Config{Processing: ProcessingConfig{
		BeforeAck: true,
		Func: func(ctx context.Context, _ Delivery) error {
			close(entered)
			select {
			case <-release:
			case <-ctx.Done():
			}
			procErr <- ctx.Err()
			return ctx.Err()
		},
	}}, ln, time.Minute)
	g := &rig{t: t, r: r, srv: &testServer{URL: "http://" + ln.Addr().String(), client: &http.Client{}}, clock: r.clock.(*clock.Fake)}
	if g.sign, err = webhook.NewSigner(secretA); err != nil {
		t.Fatal(err)
	}
	status := make(chan int, 1)
	go func() {
		resp, err := g.srv.Client().Do(g.webhookReq("/hooks", "msg_grace", []byte(`{"a":1}`)))
		if err != nil {
			status <- 0
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	<-entered
	cancel()
	// The shutdown has begun once the listener refuses connections.
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			break
		}
		c.Close()
		if i == 100000 {
			t.Fatal("the listener still accepts after the cancel")
		}
	}
	close(release)
	if err := <-procErr; err != nil {
		t.Errorf("processing saw %v: the shutdown cut it short", err)
	}
	if s := <-status; s != http.StatusOK {
		t.Errorf("status %d, want 200 (acknowledged within the grace)", s)
	}
	served(t, done)
}

// The fast front hands the timestamp, signature and attempt to the
// verifier as views of its read buffer (fastRequest.peek), which the
// connection's next request overwrites. What the receiver keeps of a
// request (its receipt, its error text) must be its own copy: two
// rejections on one kept-alive connection, whose bad timestamps sit at
// the same offset, each keep their own.
func TestFastFrontKeepsNoViewOfTheReadBuffer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r, _, _ := serveOn(t, Config{}, ln, time.Second)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	body := `{"a":1}`
	for i, ts := range []string{"12ab", "98zy"} {
		req := "POST /hooks HTTP/1.1\r\nHost: r\r\nWebhook-Id: msg_" + strconv.Itoa(i) + "\r\nWebhook-Timestamp: " + ts +
			"\r\nWebhook-Signature: v1,AAAA\r\nWebhook-Attempt: 17\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n" + body
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("timestamp %q: status %d, want 400", ts, resp.StatusCode)
		}
	}
	rcs := r.Receipts(0, 10)
	if len(rcs) != 2 {
		t.Fatalf("%d receipts, want 2: %+v", len(rcs), rcs)
	}
	for i, ts := range []string{"12ab", "98zy"} {
		if !strings.Contains(rcs[i].Error, `"`+ts+`"`) || rcs[i].Attempt != 17 || rcs[i].ID != "msg_"+strconv.Itoa(i) {
			t.Errorf("receipt %d = %+v, want the error to quote %q, attempt 17, id msg_%d", i, rcs[i], ts, i)
		}
	}
}
