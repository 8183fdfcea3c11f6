package loadgen

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// The load generator speaks HTTP/1.1 itself rather than through net/http or
// fasthttp: a benchmark sends one fixed request shape over keep-alive
// connections and needs only the status and the end of the response. Doing
// just that, with the request built in a reused buffer and the response
// parsed in place, costs a fraction of a general client per request (no
// header maps, no allocations), which is what lets one process keep up with
// wrk on two cores. It is deliberately small: no redirects, no proxies, no
// HTTP/2, no pipelining.

const (
	readBufSize   = 4 << 10
	maxHeaderSize = 64 << 10
)

var (
	errHeaderTooLarge = errors.New("response header larger than 64 KiB")
	errMalformed      = errors.New("malformed HTTP response")
	errUnsolicited    = errors.New("response bytes arrived with no request outstanding")
)

// conn is one keep-alive HTTP/1.1 connection. A conn is used by one goroutine
// at a time.
type conn struct {
	nc  net.Conn // nil for a socket detached from Go's poller (fd)
	fd  int      // the detached socket when nc is nil (open_poll_linux.go)
	io  connIO   // nc, or raw system calls on it (wire_linux.go)
	buf []byte   // read buffer; unread bytes are buf[r:w]
	r   int
	w   int
}

// dialer opens connections to one target.
type dialer struct {
	network string // "tcp"
	addr    string // host:port
	tls     *tls.Config
	timeout time.Duration
}

func (d *dialer) dial(ctx context.Context) (*conn, error) {
	nd := net.Dialer{Timeout: d.timeout}
	nc, err := nd.DialContext(ctx, d.network, d.addr)
	if err != nil {
		return nil, err
	}
	if d.tls != nil {
		tc := tls.Client(nc, d.tls)
		hctx, cancel := context.WithTimeout(ctx, d.timeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
	}
	return &conn{nc: nc, io: newConnIO(nc), buf: make([]byte, readBufSize)}, nil
}

// connIO is how a conn reads and writes.
type connIO interface {
	Read([]byte) (int, error)
	Write([]byte) (int, error)
}

func (c *conn) close() error {
	if c.nc == nil {
		return closeFD(c.fd)
	}
	return c.nc.Close()
}

// abort fails the read or write in progress, now and from now on.
func (c *conn) abort() {
	if c.nc == nil {
		shutdownFD(c.fd)
		return
	}
	c.nc.SetDeadline(time.Unix(1, 0))
}

// send writes a request.
func (c *conn) send(req []byte) error {
	_, err := c.io.Write(req)
	return err
}

// response is what the load generator keeps of an answer.
type response struct {
	status int
	bytes  int64 // header and body bytes read
	close  bool  // the server asked to close the connection (or it must be)
}

// fill reads at least one more byte into the buffer.
func (c *conn) fill() error {
	if err := c.room(); err != nil {
		return err
	}
	n, err := c.io.Read(c.buf[c.w:])
	c.w += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// room makes space after c.w for a read, keeping the unread bytes.
func (c *conn) room() error {
	if c.r == c.w {
		c.r, c.w = 0, 0
	}
	if c.w == len(c.buf) {
		if c.r > 0 {
			c.w = copy(c.buf, c.buf[c.r:c.w])
			c.r = 0
		} else {
			if len(c.buf) >= maxHeaderSize {
				return errHeaderTooLarge
			}
			nb := make([]byte, 2*len(c.buf))
			copy(nb, c.buf[:c.w])
			c.buf = nb
		}
	}
	return nil
}

// answerComplete reports whether b starts with a whole response, so that
// readResponse can take it from the buffer without reading (or fail on it
// without reading: a malformed header counts as whole). Chunked bodies and
// bodies that run to the end of the connection count as not whole: the
// caller reads those the blocking way.
func answerComplete(b []byte) bool {
	for {
		i := bytes.Index(b, crlfcrlf)
		if i < 0 {
			return false
		}
		h, err := parseHeader(b[:i+4])
		if err != nil {
			return true
		}
		b = b[i+4:]
		switch {
		case h.interim():
			continue // the real answer follows
		case h.bodyless():
			return true
		case h.chunked || h.length < 0:
			return false
		default:
			return int64(len(b)) >= h.length
		}
	}
}

// buffered reports whether response bytes are waiting to be read.
func (c *conn) buffered() bool { return c.r < c.w }

var crlfcrlf = []byte("\r\n\r\n")

// readResponse reads one whole response, discarding the body. Interim 1xx
// answers are skipped.
func (c *conn) readResponse(resp *response) error {
	*resp = response{}
	for {
		// Find the end of the header block without rescanning what was
		// already searched (rel counts bytes after c.r, which survives
		// fill moving the window).
		rel := 0
		var end int
		for {
			if i := bytes.Index(c.buf[c.r+rel:c.w], crlfcrlf); i >= 0 {
				end = c.r + rel + i + 4
				break
			}
			if n := c.w - c.r - 3; n > rel {
				rel = n
			}
			if err := c.fill(); err != nil {
				if err == io.EOF && c.w > c.r {
					err = io.ErrUnexpectedEOF
				}
				return err
			}
		}
		h, err := parseHeader(c.buf[c.r:end])
		if err != nil {
			return err
		}
		resp.bytes += int64(end - c.r)
		c.r = end
		resp.status = h.status
		if h.interim() {
			continue // the real answer follows
		}
		resp.close = h.close
		switch {
		case h.bodyless():
			return nil
		case h.chunked:
			return c.discardChunked(resp)
		case h.length >= 0:
			return c.discard(h.length, resp)
		default:
			// No length: the body runs until the server closes.
			resp.close = true
			return c.discardToEOF(resp)
		}
	}
}

// header is the part of a response header the load generator uses.
type header struct {
	status  int
	length  int64 // -1 if absent
	chunked bool
	close   bool
}

// interim is a 1xx answer other than 101 (100 Continue, 103 Early Hints):
// the real answer follows it. readResponse and answerComplete both frame
// answers by interim and bodyless, so they cannot disagree.
func (h header) interim() bool { return h.status >= 100 && h.status < 200 && h.status != 101 }

// bodyless is an answer that has no body whatever its headers say.
func (h header) bodyless() bool { return h.status == 204 || h.status == 304 || h.status == 101 }

var (
	hdrContentLength    = []byte("content-length")
	hdrTransferEncoding = []byte("transfer-encoding")
	hdrConnection       = []byte("connection")
)

// parseHeader reads a status line and headers ending in CRLF CRLF.
func parseHeader(b []byte) (header, error) {
	h := header{length: -1}
	// Status line: HTTP/1.x SP 3DIGIT [SP reason] CRLF
	if len(b) < 12 || string(b[:7]) != "HTTP/1." || b[8] != ' ' {
		return h, fmt.Errorf("%w: status line %q", errMalformed, firstLine(b))
	}
	http10 := b[7] == '0'
	h.close = http10
	s := b[9:12]
	if s[0] < '1' || s[0] > '5' || s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9' {
		return h, fmt.Errorf("%w: status line %q", errMalformed, firstLine(b))
	}
	h.status = int(s[0]-'0')*100 + int(s[1]-'0')*10 + int(s[2]-'0')
	i := bytes.IndexByte(b, '\n')
	b = b[i+1:]
	for len(b) > 2 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break
		}
		line := b[:i]
		b = b[i+1:]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			if len(line) == 0 {
				break
			}
			return h, fmt.Errorf("%w: header line %q", errMalformed, line)
		}
		name, value := line[:colon], bytes.TrimSpace(line[colon+1:])
		switch {
		case bytes.EqualFold(name, hdrContentLength):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 {
				return h, fmt.Errorf("%w: Content-Length %q", errMalformed, value)
			}
			h.length = n
		case bytes.EqualFold(name, hdrTransferEncoding):
			h.chunked = containsToken(value, "chunked")
		case bytes.EqualFold(name, hdrConnection):
			if containsToken(value, "close") {
				h.close = true
			} else if http10 && containsToken(value, "keep-alive") {
				h.close = false
			}
		}
	}
	return h, nil
}

func firstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	if len(b) > 64 {
		b = b[:64]
	}
	return bytes.TrimRight(b, "\r")
}

// containsToken reports whether a comma-separated header value holds tok
// (ASCII case-insensitive).
func containsToken(v []byte, tok string) bool {
	for len(v) > 0 {
		var part []byte
		if i := bytes.IndexByte(v, ','); i >= 0 {
			part, v = v[:i], v[i+1:]
		} else {
			part, v = v, nil
		}
		if bytes.EqualFold(bytes.TrimSpace(part), []byte(tok)) {
			return true
		}
	}
	return false
}

// discard consumes n body bytes.
func (c *conn) discard(n int64, resp *response) error {
	for n > 0 {
		if c.r == c.w {
			if err := c.fill(); err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return err
			}
		}
		k := int64(c.w - c.r)
		if k > n {
			k = n
		}
		c.r += int(k)
		n -= k
		resp.bytes += k
	}
	return nil
}

func (c *conn) discardToEOF(resp *response) error {
	for {
		resp.bytes += int64(c.w - c.r)
		c.r = c.w
		if err := c.fill(); err != nil {
			if err == io.EOF {
				resp.bytes += int64(c.w - c.r)
				c.r = c.w
				return nil
			}
			return err
		}
	}
}

// line returns the next CRLF-terminated line (without it), reading as needed.
func (c *conn) line(resp *response) ([]byte, error) {
	for {
		if i := bytes.IndexByte(c.buf[c.r:c.w], '\n'); i >= 0 {
			l := c.buf[c.r : c.r+i]
			c.r += i + 1
			resp.bytes += int64(i + 1)
			return bytes.TrimRight(l, "\r"), nil
		}
		if c.w-c.r >= maxHeaderSize {
			return nil, errHeaderTooLarge
		}
		if err := c.fill(); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

func (c *conn) discardChunked(resp *response) error {
	for {
		l, err := c.line(resp)
		if err != nil {
			return err
		}
		if i := bytes.IndexByte(l, ';'); i >= 0 {
			l = l[:i]
		}
		size, err := strconv.ParseInt(string(bytes.TrimSpace(l)), 16, 64)
		if err != nil || size < 0 {
			return fmt.Errorf("%w: chunk size %q", errMalformed, l)
		}
		if size == 0 {
			// Trailers, up to an empty line.
			for {
				t, err := c.line(resp)
				if err != nil {
					return err
				}
				if len(t) == 0 {
					return nil
				}
			}
		}
		if err := c.discard(size, resp); err != nil {
			return err
		}
		if l, err := c.line(resp); err != nil {
			return err
		} else if len(l) != 0 {
			return fmt.Errorf("%w: chunk not followed by CRLF", errMalformed)
		}
	}
}
