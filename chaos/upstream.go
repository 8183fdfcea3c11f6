package chaos

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/hookrig/hookrig/chaos/fault"
)

// upstream is where requests go: a pool of kept-alive connections to one
// host, with an optional path prefix. It opens a connection for every
// request in flight that finds none idle, so the upstream sees as many
// connections as the proxy has requests in flight, as it would without
// the proxy; idle ones are reused newest first and closed after poolIdle.
type upstream struct {
	addr string      // host:port to dial
	tls  *tls.Config // nil for http
	host string      // Host header sent upstream
	base string      // path prefix without trailing slash, "" for none
	// stripFleet drops a fleet endpoint's /fleet/GROUP/N prefix
	// (Config.StripFleetPrefix).
	stripFleet bool
	timeout    time.Duration
	conns      *connSet
	dog        *watchdog

	mu   sync.Mutex
	idle []*upConn // oldest first
}

// upConn is one connection to the upstream and its buffers.
type upConn struct {
	w         *wireConn
	out       sink
	bw        *bufio.Writer
	idleSince uint32 // watchdog tick it was put back in the pool
}

func newUpstream(raw string, timeout time.Duration) (*upstream, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("upstream %q: want an http:// or https:// URL such as http://127.0.0.1:9000", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("upstream %q: a query or fragment would be lost: give scheme://host[:port][/path] only", raw)
	}
	addr := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	up := &upstream{
		addr:    addr,
		host:    u.Host,
		base:    strings.TrimSuffix(u.EscapedPath(), "/"),
		timeout: timeout,
	}
	if u.Scheme == "https" {
		up.tls = &tls.Config{ServerName: u.Hostname()}
	}
	return up, nil
}

// prepare points req at the upstream: its Host, its path prefix. The path
// goes as the client sent it (no normalising).
func (u *upstream) prepare(req *fasthttp.Request) {
	req.URI().DisablePathNormalizing = true
	req.SetHost(u.host)
	if u.stripFleet {
		uri := req.URI()
		if rest, ok := fault.FleetRest(string(uri.PathOriginal())); ok {
			uri.SetPath(rest)
		}
	}
	if u.base != "" {
		uri := req.URI()
		uri.SetPath(u.base + string(uri.PathOriginal()))
	}
}

// do sends one copy of req and reads the answer into resp. There are no
// hidden retries: every copy the upstream gets is one the proxy meant to
// send and counts. The client's "Connection: close" concerns its own
// connection, not the pooled upstream one, so it is lifted for the call;
// likewise the upstream closing its connection is no reason to close the
// client's.
func (u *upstream) do(req *fasthttp.Request, resp *fasthttp.Response) error {
	c, err := u.get()
	if err != nil {
		return err
	}
	closing := req.Header.ConnectionClose()
	if closing {
		req.Header.ResetConnectionClose()
	}
	c.out.b = c.out.b[:0]
	err = req.Write(c.bw)
	if err == nil {
		err = c.bw.Flush()
	}
	if closing {
		req.Header.SetConnectionClose()
	}
	if err != nil {
		u.discard(c)
		return err
	}
	c.w.setWatch(phaseAnswer, u.dog.now())
	if err := c.w.send(c.out.b, true); err != nil {
		u.discard(c)
		return err
	}
	resp.Reset()
	resp.SkipBody = req.Header.IsHead()
	err = resp.Read(c.w.br)
	c.w.setWatch(phaseNone, 0)
	reuse := err == nil && !resp.ConnectionClose() && c.w.br.Buffered() == 0 && c.w.sr == len(c.w.stash)
	resp.Header.ResetConnectionClose()
	if !reuse {
		u.discard(c)
		return err
	}
	u.put(c)
	return nil
}

// get takes the newest idle connection, or opens one.
func (u *upstream) get() (*upConn, error) {
	u.mu.Lock()
	if n := len(u.idle); n > 0 {
		c := u.idle[n-1]
		u.idle[n-1] = nil
		u.idle = u.idle[:n-1]
		u.mu.Unlock()
		return c, nil
	}
	u.mu.Unlock()
	d := &net.Dialer{Timeout: u.timeout}
	var nc net.Conn
	var err error
	if u.tls != nil {
		nc, err = (&tls.Dialer{NetDialer: d, Config: u.tls}).Dial("tcp", u.addr) // the timeout covers the handshake
	} else {
		nc, err = d.Dial("tcp", u.addr)
	}
	if err != nil {
		return nil, err
	}
	c := &upConn{w: newWireConn(nc, 4096)}
	c.bw = bufio.NewWriterSize(&c.out, 4096)
	u.conns.add(c.w)
	return c, nil
}

func (u *upstream) put(c *upConn) {
	c.idleSince = u.dog.now()
	u.mu.Lock()
	u.idle = append(u.idle, c)
	u.mu.Unlock()
}

func (u *upstream) discard(c *upConn) {
	c.w.setWatch(phaseNone, 0)
	u.conns.remove(c.w)
	c.w.Close()
}

// prune closes the connections idle for limit ticks or more at tick now.
func (u *upstream) prune(now, limit uint32) {
	u.mu.Lock()
	n := 0
	for n < len(u.idle) && now-u.idle[n].idleSince >= limit {
		n++
	}
	if n == 0 {
		u.mu.Unlock()
		return
	}
	stale := append([]*upConn(nil), u.idle[:n]...)
	m := copy(u.idle, u.idle[n:])
	clear(u.idle[m:])
	u.idle = u.idle[:m]
	u.mu.Unlock()
	for _, c := range stale {
		u.discard(c)
	}
}

// closeIdle closes every idle connection.
func (u *upstream) closeIdle() {
	u.mu.Lock()
	idle := u.idle
	u.idle = nil
	u.mu.Unlock()
	for _, c := range idle {
		u.discard(c)
	}
}

// sink collects what a bufio.Writer flushes: a message is rendered whole
// and then sent with one write.
type sink struct{ b []byte }

func (s *sink) Write(p []byte) (int, error) {
	s.b = append(s.b, p...)
	return len(p), nil
}

// errKind names a transport failure the way the sender's ErrKind does.
func errKind(err error) string {
	switch {
	case timedOut(err), errors.Is(err, fasthttp.ErrTimeout):
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	}
	return "other"
}
