package receiver

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// awaitConn holds each answer back until the server reads again, then
// writes it and waits for the client's next request in one step.
//
// Why: a net.Conn Read tries read(2) first and only then waits for the
// poller, so on a keep-alive connection every read for the next request,
// made right after the answer went out, fails with EAGAIN first. Written
// from inside the raw connection's read callback, the answer goes out after
// Go reset the read readiness and before it waits, so no request can slip
// in between, and the one read(2) that follows finds its bytes (the chaos
// proxy's wireConn.send with await does the same on its own loop).
type awaitConn struct {
	net.Conn
	raw   syscall.RawConn // nil: no await, Write writes
	conns *connSet
	once  sync.Once // leaving conns

	// mu guards pending: the server's goroutine writes and reads, but a
	// connection cap or a shutdown may close an idle connection from
	// another.
	mu      sync.Mutex
	pending []byte // written by the server, not yet sent
	spare   []byte // pending's other buffer, swapped in by take

	// Read's state for step, its callback (the server's goroutine only)
	out  []byte // what Read sends before it waits
	p    []byte
	n    int
	rerr error
	werr error
	step func(fd uintptr) bool // exchange, bound once

	// the deadlines, set lazily (see setDeadline)
	dlMu   sync.Mutex
	rd, wr lazyDeadline
}

// lazyDeadline is one direction's deadline: the one asked for, and the
// one the socket has (zero times: none).
type lazyDeadline struct {
	want, armed time.Time
}

// maxPending bounds what an awaitConn holds back: a larger answer is sent
// at once.
const maxPending = 16 << 10

// awaitListener makes an awaitConn of every connection it accepts, and
// keeps them in conns until they close.
type awaitListener struct {
	net.Listener
	conns *connSet
	plain bool // no await: Write writes (BenchmarkWire compares)
}

func (l *awaitListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	a := &awaitConn{Conn: c, conns: l.conns}
	if sc, ok := c.(syscall.Conn); ok && !l.plain {
		if raw, err := sc.SyscallConn(); err == nil {
			a.raw = raw
			a.step = a.exchange
		}
	}
	l.conns.add(a)
	return a, nil
}

// Write holds b back for the next Read (or Close), unless too much would
// be held: then what is held and b are sent now.
func (a *awaitConn) Write(b []byte) (int, error) {
	if a.raw == nil {
		return a.Conn.Write(b)
	}
	a.mu.Lock()
	if len(a.pending)+len(b) <= maxPending {
		a.pending = append(a.pending, b...)
		a.mu.Unlock()
		return len(b), nil
	}
	out := a.take()
	a.mu.Unlock()
	if len(out) > 0 {
		_, err := a.write(out)
		a.give(out)
		if err != nil {
			return 0, err
		}
	}
	return a.write(b)
}

// take hands out what is held back, leaving the other buffer in its place
// (a.mu held).
func (a *awaitConn) take() []byte {
	out := a.pending
	a.pending, a.spare = a.spare[:0], nil
	return out
}

// give returns a buffer take handed out, for reuse.
func (a *awaitConn) give(b []byte) {
	a.mu.Lock()
	if a.spare == nil {
		a.spare = b[:0]
	}
	a.mu.Unlock()
}

// Read sends what is held back, then waits for the client and reads.
func (a *awaitConn) Read(p []byte) (int, error) {
	a.mu.Lock()
	out := a.take()
	a.mu.Unlock()
	if len(out) == 0 {
		a.give(out)
		for {
			n, err := a.Conn.Read(p)
			if n > 0 || !a.rearm(&a.rd, err) {
				return n, err
			}
		}
	}
	a.out, a.p, a.n, a.rerr, a.werr = out, p, 0, nil, nil
	err := a.raw.Read(a.step)
	for err != nil && a.werr == nil && a.rerr == nil && a.rearm(&a.rd, err) {
		err = a.raw.Read(a.step) // what is held back goes out once: exchange clears out
	}
	a.out, a.p = nil, nil
	a.give(out)
	switch {
	case a.werr != nil:
		return 0, a.werr
	case a.rerr != nil:
		return 0, a.rerr
	case err != nil:
		return 0, err // the wait ended: deadline, or closed
	case a.n == 0 && len(p) > 0:
		return 0, io.EOF
	}
	return a.n, nil
}

// exchange is Read's callback, called with the read readiness reset: it
// first sends what is held back, then (each time the poller says the
// socket is readable) reads. It returns false to wait for readability.
func (a *awaitConn) exchange(fd uintptr) bool {
	if len(a.out) > 0 {
		written := 0
		for written < len(a.out) {
			n, err := rawIO(syscall.SYS_WRITE, fd, a.out[written:])
			if n > 0 {
				written += n
			}
			switch {
			case err == nil || err == syscall.EINTR:
			case err == syscall.EAGAIN:
				// The socket buffer is full: send the rest the ordinary
				// way, parking until it drains.
				if _, err := a.write(a.out[written:]); err != nil {
					a.werr = err
					return true
				}
				written = len(a.out)
			default:
				a.werr = &net.OpError{Op: "write", Net: "tcp", Source: a.LocalAddr(), Addr: a.RemoteAddr(), Err: err}
				return true
			}
		}
		a.out = nil
		return false // now wait for the client
	}
	n, err := rawIO(syscall.SYS_READ, fd, a.p)
	for err == syscall.EINTR {
		n, err = rawIO(syscall.SYS_READ, fd, a.p)
	}
	switch {
	case err == syscall.EAGAIN:
		return false // woken early: wait again
	case err != nil:
		a.rerr = &net.OpError{Op: "read", Net: "tcp", Source: a.LocalAddr(), Addr: a.RemoteAddr(), Err: err}
	default:
		a.n = n
	}
	return true
}

// write writes b whole on the connection, waiting on past an armed
// deadline that is earlier than the one asked for (see setDeadline).
func (a *awaitConn) write(b []byte) (int, error) {
	written := 0
	for {
		n, err := a.Conn.Write(b[written:])
		written += n
		if err == nil || !a.rearm(&a.wr, err) {
			return written, err
		}
	}
}

// SetReadDeadline, SetWriteDeadline and SetDeadline set the deadlines
// lazily. fasthttp sets three per request on a kept-alive connection
// (idle, read, write), and each moved the socket's runtime timer: 3% of
// the receiver's CPU under load (docs/performance.md). A later deadline
// never needs the timer moved: the one armed fires first, the wait it
// ends finds that the deadline asked for has not passed, arms that one
// and waits on (rearm). So the timer moves only when a deadline comes
// earlier than the armed one, and about once per timeout when the armed
// one fires early; a request is cut when its own deadline passes, as
// before.
func (a *awaitConn) SetReadDeadline(t time.Time) error {
	return a.setDeadline(&a.rd, t, a.Conn.SetReadDeadline)
}

func (a *awaitConn) SetWriteDeadline(t time.Time) error {
	return a.setDeadline(&a.wr, t, a.Conn.SetWriteDeadline)
}

func (a *awaitConn) SetDeadline(t time.Time) error {
	return errors.Join(a.SetReadDeadline(t), a.SetWriteDeadline(t))
}

func (a *awaitConn) setDeadline(d *lazyDeadline, t time.Time, set func(time.Time) error) error {
	a.dlMu.Lock()
	defer a.dlMu.Unlock()
	d.want = t
	if !d.armed.IsZero() && (t.IsZero() || !t.Before(d.armed)) {
		return nil // the armed one fires no later; rearm moves it then
	}
	d.armed = t
	return set(t)
}

// rearm is called when a wait ended with err: if that was an armed
// deadline earlier than the one asked for, it arms the latter and reports
// that the caller should wait again.
func (a *awaitConn) rearm(d *lazyDeadline, err error) bool {
	if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	a.dlMu.Lock()
	defer a.dlMu.Unlock()
	if d.want.Equal(d.armed) || (!d.want.IsZero() && !time.Now().Before(d.want)) {
		return false // the deadline asked for has passed
	}
	d.armed = d.want
	var set func(time.Time) error = a.Conn.SetWriteDeadline
	if d == &a.rd {
		set = a.Conn.SetReadDeadline
	}
	return set(d.want) == nil
}

// Close sends what is held back (the answer to a request that asked for
// Connection: close, say), then closes.
func (a *awaitConn) Close() error {
	a.mu.Lock()
	out := a.take()
	a.mu.Unlock()
	if len(out) > 0 {
		a.write(out)
	}
	a.once.Do(func() { a.conns.remove(a) })
	return a.Conn.Close()
}

// connSet is the connections a Server has open, so that a shutdown can
// wait for them to end and close those still open when its grace is
// over (fasthttp's own shutdown waits, but never cuts them).
type connSet struct {
	mu    sync.Mutex
	open  map[*awaitConn]struct{}
	empty chan struct{} // closed when open empties, once wait asked
}

func (s *connSet) add(a *awaitConn) {
	s.mu.Lock()
	if s.open == nil {
		s.open = map[*awaitConn]struct{}{}
	}
	s.open[a] = struct{}{}
	s.mu.Unlock()
}

func (s *connSet) remove(a *awaitConn) {
	s.mu.Lock()
	delete(s.open, a)
	if len(s.open) == 0 && s.empty != nil {
		close(s.empty)
		s.empty = nil
	}
	s.mu.Unlock()
}

// wait waits until no connection is open or ctx ends; then it closes
// those left and reports how many that was.
func (s *connSet) wait(ctx context.Context) int {
	s.mu.Lock()
	if len(s.open) == 0 {
		s.mu.Unlock()
		return 0
	}
	if s.empty == nil {
		s.empty = make(chan struct{})
	}
	empty := s.empty
	s.mu.Unlock()
	select {
	case <-empty:
		return 0
	case <-ctx.Done():
	}
	s.mu.Lock()
	left := make([]*awaitConn, 0, len(s.open))
	for a := range s.open {
		left = append(left, a)
	}
	s.mu.Unlock()
	for _, a := range left {
		a.Conn.Close() // not a.Close: an answer held back is not sent now
	}
	return len(left)
}

// rawIO is read(2) or write(2) on the non-blocking socket without telling
// the scheduler (RawSyscall): it cannot block, and telling the scheduler
// wakes the runtime's monitor thread, which then polls for a while.
func rawIO(op uintptr, fd uintptr, b []byte) (int, error) {
	n, _, e := syscall.RawSyscall(op, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
