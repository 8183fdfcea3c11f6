package httpapi

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serveCapped serves h on a loopback listener capped at n connections.
func serveCapped(t *testing.T, h http.Handler, n int) (string, *ConnLimiter) {
	t.Helper()
	ln, err := ListenCapped("127.0.0.1:0", n)
	if err != nil {
		t.Fatal(err)
	}
	cl := ln.(*ConnLimiter)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, NewServer(h), ln, time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Error(err)
		}
	})
	return ln.Addr().String(), cl
}

// dialAndSend opens a connection to addr and writes req on it; the
// connection is closed when the test ends.
func dialAndSend(t *testing.T, addr, req string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	return c
}

// rawGet sends one GET on c and reads the answer (bounded by a deadline).
func rawGet(t *testing.T, c net.Conn, br *bufio.Reader) (int, string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, "GET /probe HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b)
}

// Finding 8: idle keep-alive connections up to the cap do not lock a
// probe out: the listener closes an idle one to make room, and when every
// connection is busy a new one gets a fast 503, never a hang or an
// "accept: too many open files".
func TestConnectionCap(t *testing.T) {
	const capN = 4
	release := make(chan struct{})
	addr, cl := serveCapped(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/busy" {
			<-release
		}
		w.Write([]byte("ok"))
	}), capN)
	// capN idle keep-alive connections, each having made one request.
	var idle []net.Conn
	for range capN {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if code, _ := rawGet(t, c, bufio.NewReader(c)); code != 200 {
			t.Fatalf("idle conn setup: %d", code)
		}
		idle = append(idle, c)
	}
	probe, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	if code, body := rawGet(t, probe, bufio.NewReader(probe)); code != 200 || body != "ok" {
		t.Fatalf("probe past %d idle connections: %d %q, want 200 ok", capN, code, body)
	}
	if cl.Reaped() != 1 || cl.Open() > capN {
		t.Errorf("reaped %d idle connections (want 1), %d open (cap %d)", cl.Reaped(), cl.Open(), capN)
	}
	// Now make every connection busy: a new one is refused at once.
	for _, c := range idle {
		c.Close()
	}
	busy := make([]net.Conn, 0, capN)
	for range capN {
		busy = append(busy, dialAndSend(t, addr, "GET /busy HTTP/1.1\r\nHost: x\r\n\r\n"))
	}
	// The listener may still be counting the closed idle ones out; what
	// matters is that the over-cap client is answered, not left waiting.
	var code int
	var body string
	for range 50 { // bounded: each try is one connection and one answer
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		code, body = rawGet(t, c, bufio.NewReader(c))
		c.Close()
		if code == http.StatusServiceUnavailable {
			break
		}
	}
	close(release)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "too many connections") || cl.Refused() == 0 {
		t.Errorf("over the cap with every connection busy: %d %q (refused %d), want a fast 503", code, body, cl.Refused())
	}
	for _, c := range busy {
		if code, _ := func() (int, string) {
			c.SetDeadline(time.Now().Add(20 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				return 0, err.Error()
			}
			resp.Body.Close()
			return resp.StatusCode, ""
		}(); code != 200 {
			t.Errorf("busy connection answered %d", code)
		}
	}
}

// Finding 7: a client that asks for a large answer and never reads it
// loses the connection once the write timeout passes; the handler's
// writes fail instead of blocking for ever.
func TestWriteTimeoutCutsOffNonReaders(t *testing.T) {
	writeErr := make(chan error, 1)
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 1<<20)
		for range 256 { // 256 MiB: far more than any socket buffers
			if _, err := w.Write(chunk); err != nil {
				writeErr <- err
				return
			}
		}
		writeErr <- nil
	}), WithWriteTimeout(300*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, srv, ln, time.Second) }()
	defer func() { cancel(); <-served }()
	c := dialAndSend(t, ln.Addr().String(), "GET /receipts HTTP/1.1\r\nHost: x\r\n\r\n")
	select {
	case err := <-writeErr:
		if err == nil {
			t.Fatal("256 MiB written to a client that reads nothing")
		}
	case <-time.After(30 * time.Second): // bounds the test only
		t.Fatal("the handler is still writing to a client that never reads")
	}
	// The server closed the connection: reading ends (after what the
	// buffers held) with EOF or a reset, not a timeout.
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err = io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("the connection is still open: %v", err)
	}
}

// Finding 3: a megabyte of header or method is refused by the server with
// a small answer; a big but admissible method is echoed bounded.
func TestHeaderAndMethodBounds(t *testing.T) {
	addr := serveForTest(t, NewRouter())
	for _, c := range []struct {
		name, req string
		status    int
	}{
		{"1 MB header", "GET / HTTP/1.1\r\nHost: x\r\nWebhook-Timestamp: " + strings.Repeat("1", 1<<20) + "\r\n\r\n", 431},
		{"1 MB method", strings.Repeat("M", 1<<20) + " / HTTP/1.1\r\nHost: x\r\n\r\n", 431},
		{"60 KB method", strings.Repeat("M", 60<<10) + " /x HTTP/1.1\r\nHost: x\r\n\r\n", 404},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(20 * time.Second))
			go io.WriteString(conn, c.req) // the server may answer before reading it all
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if resp.StatusCode != c.status || len(b) > 512 {
				t.Errorf("answer %d of %d bytes, want %d of at most 512: %.200s", resp.StatusCode, len(b), c.status, b)
			}
		})
	}
}

func TestConnCapFor(t *testing.T) {
	for _, c := range []struct {
		files uint64
		want  int
	}{{1024, 768}, {1 << 20, defaultMaxConns}, {100, 36}, {50, 16}} {
		if got := ConnCapFor(c.files); got != c.want {
			t.Errorf("ConnCapFor(%d) = %d, want %d", c.files, got, c.want)
		}
	}
	if n, err := RaiseOpenFileLimit(); err != nil || n == 0 {
		t.Errorf("RaiseOpenFileLimit() = %d, %v", n, err)
	}
}

// The wrapper hides nothing that code reaching for the socket needs.
func TestLimitedConnIsTransparent(t *testing.T) {
	ln, err := ListenCapped("127.0.0.1:0", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			defer c.Close()
			c.Read(make([]byte, 1))
		}
	}()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if sc, ok := c.(syscall.Conn); !ok {
		t.Error("not a syscall.Conn")
	} else if _, err := sc.SyscallConn(); err != nil {
		t.Error(err)
	}
	u, ok := c.(interface{ UnsafeConn() net.Conn })
	if !ok {
		t.Fatal("no UnsafeConn")
	}
	if _, ok := u.UnsafeConn().(*net.TCPConn); !ok {
		t.Errorf("UnsafeConn is %T, want *net.TCPConn", u.UnsafeConn())
	}
}
