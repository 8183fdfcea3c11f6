package httpapi

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
)

// defaultMaxConns is the connection cap Listen puts on a listener: far
// above what a sender, a load generator or a test opens to one server, and
// below the open-file limit hookrig raises itself to at start (see
// RaiseOpenFileLimit and ConnCapFor), so that a flood of idle connections
// meets the cap, not "accept: too many open files".
const defaultMaxConns = 4096

// overCap is the whole answer to a connection past the cap when no idle
// one can make room: written on the fresh socket (it fits its buffer, so
// it never blocks) before closing it, so a client sees a fast 503 rather
// than a connection that hangs.
const overCap = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/json\r\n" +
	"Connection: close\r\nContent-Length: 50\r\n\r\n" + `{"error":"too many connections; retry in a second"}`

// ConnLimiter is a listener that holds at most max connections open
// (accepted and not yet closed). At the cap it first closes an idle
// keep-alive connection, when the server reports one (Serve wires
// TrackState), and otherwise answers the new connection 503 and closes it.
// Like golang.org/x/net/netutil.LimitListener, without the dependency and
// without leaving new clients waiting in the backlog behind idle ones.
type ConnLimiter struct {
	net.Listener
	max int

	mu   sync.Mutex
	open int
	idle map[net.Conn]struct{}

	reaped, refused atomic.Uint64
}

// limitListener caps ln at n open connections (at least 1).
func limitListener(ln net.Listener, n int) *ConnLimiter {
	return &ConnLimiter{Listener: ln, max: max(n, 1), idle: make(map[net.Conn]struct{})}
}

// Accept waits for a connection and makes room for it under the cap.
func (l *ConnLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.admit() {
			return &limitedConn{Conn: c, l: l}, nil
		}
		l.refused.Add(1)
		io.WriteString(c, overCap)
		c.Close()
	}
}

// admit counts a new connection in, closing an idle one first if the cap
// is reached; false means there is no room.
func (l *ConnLimiter) admit() bool {
	l.mu.Lock()
	if l.open < l.max {
		l.open++
		l.mu.Unlock()
		return true
	}
	var victim net.Conn
	for c := range l.idle {
		victim = c
		delete(l.idle, c)
		break
	}
	l.mu.Unlock()
	if victim == nil {
		return false
	}
	l.reaped.Add(1)
	victim.Close() // gives its place back through limitedConn.Close
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open < l.max {
		l.open++
		return true
	}
	return false
}

// TrackState returns an http.Server.ConnState hook that records which
// connections are idle (so Accept may close one at the cap), calling next
// (if any) too.
func (l *ConnLimiter) TrackState(next func(net.Conn, http.ConnState)) func(net.Conn, http.ConnState) {
	return func(c net.Conn, s http.ConnState) {
		l.mu.Lock()
		if s == http.StateIdle {
			l.idle[c] = struct{}{}
		} else {
			delete(l.idle, c)
		}
		l.mu.Unlock()
		if next != nil {
			next(c, s)
		}
	}
}

// Open, Reaped and Refused report the connections open now, the idle ones
// closed to make room, and the new ones turned away with a 503.
func (l *ConnLimiter) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// Reaped counts idle connections closed at the cap.
func (l *ConnLimiter) Reaped() uint64 { return l.reaped.Load() }

// Refused counts connections answered 503 at the cap.
func (l *ConnLimiter) Refused() uint64 { return l.refused.Load() }

// limitedConn gives its place back once, however often it is closed.
type limitedConn struct {
	net.Conn
	l    *ConnLimiter
	once sync.Once
}

// SyscallConn and UnsafeConn keep the wrapper transparent to code that
// reaches for the socket itself (the chaos proxy's raw-fd fast path, its
// TCP RST fault).
func (c *limitedConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.New("connection has no file descriptor")
}

// UnsafeConn returns the accepted connection under the wrapper.
func (c *limitedConn) UnsafeConn() net.Conn { return c.Conn }

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		c.l.open--
		delete(c.l.idle, c)
		c.l.mu.Unlock()
	})
	return err
}

// ConnCapFor is the connection cap for a process allowed openFiles file
// descriptors: defaultMaxConns, or less when the limit is low, keeping a
// quarter (at least 64) for files, the journal and outgoing connections.
func ConnCapFor(openFiles uint64) int {
	reserve := max(openFiles/4, 64)
	if openFiles <= reserve+16 {
		return 16
	}
	return int(min(openFiles-reserve, defaultMaxConns))
}
