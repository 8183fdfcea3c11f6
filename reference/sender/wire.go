package sender

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// wireTransport is the sender's default transport for http:// endpoints:
// HTTP/1.1 on kept-alive connections of its own, the answer parsed by
// fasthttp. net/http's Transport runs a read and a write goroutine per
// connection and hands every request and answer between them; in a
// profile of BenchmarkDeliver those hand-offs and their allocations were
// the largest part of the sender's CPU per delivered event. https:// (TLS,
// HTTP/2) and any other scheme go to the fallback, net/http.
//
// What net/http's Transport did for the sender, it keeps: the guarded
// dialer (every connection's address checked, targets.go), the attempt's
// context ending the exchange (its deadline cuts the connection), no
// redirect followed (an answer is returned as it is), no proxy from the
// environment, an answer's headers bounded by the read buffer and its
// body by maxDrain, at most idlePerHost idle connections per host, those
// idle past idleTimeout closed at the next exchange (no timer goroutine:
// a sender that sends nothing more keeps them until Close). Like net/http it never sends a request
// twice: a kept-alive connection the endpoint closed while idle is found
// before it is used, and an exchange that fails is the attempt's failure.
type wireTransport struct {
	dialer      *net.Dialer
	fallback    http.RoundTripper
	idlePerHost int
	idleTimeout time.Duration
	now         func() time.Time // for idle ages only; attempts are timed by their context

	mu        sync.Mutex
	idle      map[string][]*wireConn // by host:port, oldest first
	lastPrune time.Time
}

// wireConn is one kept-alive connection and its buffers.
type wireConn struct {
	nc     net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	idleAt time.Time
}

const (
	// wireReadBuffer bounds an answer's status line and headers: an
	// answer whose headers do not fit fails the attempt.
	wireReadBuffer  = 16 << 10
	wireWriteBuffer = 4 << 10
)

func newWireTransport(workers int, g targetGuard) *wireTransport {
	return &wireTransport{
		dialer:      &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: g.control},
		fallback:    newGuardedTransport(workers, g),
		idlePerHost: workers,
		idleTimeout: 90 * time.Second,
		now:         time.Now,
		idle:        make(map[string][]*wireConn),
	}
}

// aLongTimeAgo is a deadline in the past: setting it ends a blocked read
// or write at once.
var aLongTimeAgo = time.Unix(1, 0)

// RoundTrip sends req on a kept-alive connection (or a new one) and reads
// the answer, whose Body is already read (up to maxDrain).
func (t *wireTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" {
		return t.fallback.RoundTrip(req)
	}
	body, err := readRequestBody(req)
	if err != nil {
		return nil, err
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	fr := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(fr)
	cut, err := t.exchange(req.Context(), wireAddr(req.URL), req.Close, func(w *bufio.Writer) error {
		return writeRequest(w, req.Method, req.URL.RequestURI(), host, req.Header, req.Close, body)
	}, fr)
	if err != nil {
		return nil, err
	}
	resp := &http.Response{
		StatusCode: fr.StatusCode(), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: make(http.Header, fr.Header.Len()), ContentLength: -1, Request: req,
	}
	resp.Status = strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode)
	for k, v := range fr.Header.All() {
		resp.Header.Add(string(k), string(v))
	}
	b := fr.Body()
	if cut {
		b = nil
	}
	resp.Body = io.NopCloser(strings.NewReader(string(b)))
	return resp, nil
}

// wireAddr is the host:port an http:// URL is sent to.
func wireAddr(u *url.URL) string {
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), "80")
	}
	return u.Host
}

// exchange sends one request, written by write, to addr on a kept-alive
// connection (or a new one) and reads the answer into fr. cut says the
// answer's body went past maxDrain: fr has its status and headers, not
// its body. ctx (the attempt's timeout, the sender stopping) ends a
// blocked read or write by a deadline in the past. The dispatcher calls
// it directly for http:// endpoints (no http.Request or http.Response
// per attempt); RoundTrip wraps it for everyone else.
func (t *wireTransport) exchange(ctx context.Context, addr string, closing bool, write func(*bufio.Writer) error, fr *fasthttp.Response) (cut bool, err error) {
	c := t.get(addr)
	if c == nil {
		nc, err := t.dialer.DialContext(ctx, "tcp", addr)
		if err != nil {
			return false, err
		}
		c = &wireConn{nc: nc, br: bufio.NewReaderSize(nc, wireReadBuffer), bw: bufio.NewWriterSize(nc, wireWriteBuffer)}
	}
	stop := context.AfterFunc(ctx, func() { c.nc.SetDeadline(aLongTimeAgo) })
	cut, reuse, err := c.exchange(closing, write, fr)
	if !stop() || ctx.Err() != nil {
		reuse = false
		if err != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
	}
	if reuse {
		t.put(addr, c)
	} else {
		c.nc.Close()
	}
	return cut, err
}

// readRequestBody returns the request's body: the sender's requests carry
// their payload in memory (http.NewRequest sets GetBody for it).
func readRequestBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer req.Body.Close()
	return io.ReadAll(req.Body)
}

// exchange writes a request and reads its answer into fr; reuse says
// whether the connection may carry another.
func (c *wireConn) exchange(closing bool, write func(*bufio.Writer) error, fr *fasthttp.Response) (cut, reuse bool, err error) {
	if err := write(c.bw); err != nil {
		return false, false, err
	}
	if err := c.bw.Flush(); err != nil {
		return false, false, err
	}
	err = fr.ReadLimitBody(c.br, maxDrain)
	// A body past maxDrain is cut, and the connection with it: the
	// status is the answer (as with net/http, where the sender stops
	// reading at maxDrain).
	cut = errors.Is(err, fasthttp.ErrBodyTooLarge)
	if err != nil && !cut {
		return false, false, err
	}
	// 101 hands the connection to another protocol: never reused.
	reuse = !cut && !closing && !fr.ConnectionClose() && c.br.Buffered() == 0 &&
		fr.StatusCode() != http.StatusSwitchingProtocols
	return cut, reuse, nil
}

// writeRequest renders a request as HTTP/1.1 with a Content-Length. A
// header value with a line break would split the request: refused, as
// net/http refuses it.
func writeRequest(w *bufio.Writer, method, uri, host string, header http.Header, closing bool, body []byte) error {
	w.WriteString(method)
	w.WriteByte(' ')
	w.WriteString(uri)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(host)
	w.WriteString("\r\n")
	for k, vs := range header {
		if k == "Host" || k == "Content-Length" || k == "Connection" || k == "Transfer-Encoding" {
			continue
		}
		for _, v := range vs {
			if strings.ContainsAny(k, "\r\n: ") || strings.ContainsAny(v, "\r\n\x00") {
				return fmt.Errorf("header %q: a name or value with a line break or NUL is refused", truncate(k, 64))
			}
			w.WriteString(k)
			w.WriteString(": ")
			w.WriteString(v)
			w.WriteString("\r\n")
		}
	}
	if closing {
		w.WriteString("Connection: close\r\n")
	}
	w.WriteString("Content-Length: ")
	w.WriteString(strconv.Itoa(len(body)))
	w.WriteString("\r\n\r\n")
	_, err := w.Write(body)
	return err
}

// get takes the newest idle connection to addr that is still open, or
// returns nil.
func (t *wireTransport) get(addr string) *wireConn {
	for {
		t.mu.Lock()
		conns := t.idle[addr]
		n := len(conns)
		if n == 0 {
			t.mu.Unlock()
			return nil
		}
		c := conns[n-1]
		conns[n-1] = nil
		t.idle[addr] = conns[:n-1]
		t.mu.Unlock()
		if c.open() {
			return c
		}
		c.nc.Close()
	}
}

// open says whether an idle connection can carry a request: the endpoint
// has neither closed it nor sent anything unasked (one non-blocking read).
func (c *wireConn) open() bool {
	if c.br.Buffered() > 0 {
		return false
	}
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := false
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, err := syscall.Read(int(fd), buf[:])
		alive = n < 0 && (err == syscall.EAGAIN || err == syscall.EWOULDBLOCK)
		return true // never wait
	})
	return err == nil && alive
}

// put keeps c for the next request to addr, within idlePerHost, and
// closes connections idle past idleTimeout (checked at most twice per
// timeout).
func (t *wireTransport) put(addr string, c *wireConn) {
	now := t.now()
	c.idleAt = now
	var stale []*wireConn
	t.mu.Lock()
	if conns := t.idle[addr]; len(conns) < t.idlePerHost {
		t.idle[addr] = append(conns, c)
	} else {
		stale = append(stale, c)
	}
	if now.Sub(t.lastPrune) > t.idleTimeout/2 {
		t.lastPrune = now
		for a, conns := range t.idle {
			k := 0
			for k < len(conns) && now.Sub(conns[k].idleAt) > t.idleTimeout {
				k++
			}
			stale = append(stale, conns[:k]...)
			if k == len(conns) {
				delete(t.idle, a)
			} else if k > 0 {
				t.idle[a] = append(conns[:0:0], conns[k:]...)
			}
		}
	}
	t.mu.Unlock()
	for _, s := range stale {
		s.nc.Close()
	}
}

// CloseIdleConnections closes every idle connection (http.Client's
// CloseIdleConnections calls it), the fallback's too.
func (t *wireTransport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = make(map[string][]*wireConn)
	t.mu.Unlock()
	for _, conns := range idle {
		for _, c := range conns {
			c.nc.Close()
		}
	}
	if ci, ok := t.fallback.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}
