package chaos

import (
	"bufio"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// wireConn is one TCP connection of the data path, to a client or to the
// upstream. What it adds to net.Conn is send with await: write a message
// and wait for the peer's next bytes in one step.
//
// Why: a net.Conn Read always tries the read(2) first and only then waits
// for the poller, so every read that comes before the peer has answered
// costs a read that fails with EAGAIN. A proxy reads exactly then (the
// upstream's answer right after sending the request, the client's next
// request right after answering), so that was two failed reads per
// request, about a tenth of the proxy's CPU. nginx waits for readiness
// first. So does await: the write happens inside the raw connection's
// read callback, after Go has reset the read readiness and before it
// waits, so no arrival can slip between the write and the wait, and the
// one read(2) that follows finds the bytes there.
type wireConn struct {
	net.Conn
	raw   syscall.RawConn // nil when await cannot be done this way (TLS): reads then read
	br    *bufio.Reader   // reads the connection through stash
	stash []byte          // what await read and Read has not handed out yet
	sr    int             // next unread byte of stash
	serr  error           // how await's read ended, for Read to return next
	// send's state for exchange, its callback
	msg     []byte
	written int
	werr    error
	step    func(fd uintptr) bool // exchange, bound once
	// watch is what the watchdog times on this connection and since which
	// of its ticks (phase<<32 | tick), or cutMark once it cut it short.
	watch atomic.Uint64
	cutMu sync.Mutex // orders a cut before the un-cut that undoes it
}

// stashSize bounds what one await reads: a request or an answer usually
// arrives whole in one read; bufio reads the rest as usual.
const stashSize = 4096

func newWireConn(c net.Conn, bufSize int) *wireConn {
	w := &wireConn{Conn: c}
	if sc, ok := c.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			w.raw = raw
			w.stash = make([]byte, 0, stashSize)
			w.step = w.exchange
		}
	}
	w.br = bufio.NewReaderSize((*stashReader)(w), bufSize)
	return w
}

// stashReader is the wireConn as bufio.Reader sees it: Read hands out what
// await stashed before reading the connection again.
type stashReader wireConn

func (s *stashReader) Read(p []byte) (int, error) {
	w := (*wireConn)(s)
	if w.sr < len(w.stash) {
		n := copy(p, w.stash[w.sr:])
		w.sr += n
		return n, nil
	}
	if w.serr != nil {
		err := w.serr
		w.serr = nil
		return 0, err
	}
	return w.Conn.Read(p)
}

// send writes msg whole. With await, it then waits until the peer sends
// something and reads it for br (an error in that read comes out of br
// instead); send's own error is the write's.
func (w *wireConn) send(msg []byte, await bool) error {
	if !await || w.raw == nil {
		_, err := w.Conn.Write(msg)
		return err
	}
	w.msg, w.written, w.werr = msg, 0, nil
	w.stash, w.sr = w.stash[:0], 0
	err := w.raw.Read(w.step)
	werr, short := w.werr, w.written < len(msg)
	w.msg, w.werr = nil, nil
	if werr != nil {
		return &net.OpError{Op: "write", Net: "tcp", Source: w.LocalAddr(), Addr: w.RemoteAddr(), Err: werr}
	}
	if short { // the connection failed before the callback ran
		if err == nil {
			err = io.ErrShortWrite
		}
		return err
	}
	if err != nil && w.serr == nil {
		w.serr = err // the wait ended: deadline (the watchdog), or closed
	}
	return nil
}

// exchange is send's callback for the raw connection, called with the
// read readiness reset: first it writes msg, then (each time the poller
// says the socket is readable) it reads. It returns false to wait for
// readability. A method bound once (step), so a send allocates nothing.
func (w *wireConn) exchange(fd uintptr) bool {
	for w.written < len(w.msg) {
		n, err := rawWrite(fd, w.msg[w.written:])
		if n > 0 {
			w.written += n
		}
		switch {
		case err == nil || err == syscall.EINTR:
		case err == syscall.EAGAIN:
			// The socket buffer is full (a large message): write the rest
			// the ordinary way, parking until it drains. The read
			// readiness stays armed meanwhile.
			n, err := w.Conn.Write(w.msg[w.written:])
			w.written += n
			if err != nil {
				w.werr = err
				return true
			}
		default:
			w.werr = err
			return true
		}
		if w.written == len(w.msg) {
			return false // now wait for the peer
		}
	}
	n, err := rawRead(fd, w.stash[:cap(w.stash)])
	for err == syscall.EINTR {
		n, err = rawRead(fd, w.stash[:cap(w.stash)])
	}
	switch {
	case err == syscall.EAGAIN:
		return false // woken early: wait again
	case err != nil:
		w.serr = &net.OpError{Op: "read", Net: "tcp", Source: w.LocalAddr(), Addr: w.RemoteAddr(), Err: err}
	case n == 0:
		w.serr = io.EOF
	default:
		w.stash = w.stash[:n]
	}
	return true
}

// rawWrite and rawRead are write(2) and read(2) on a non-blocking socket
// without telling the scheduler (syscall.RawSyscall, not Syscall). They
// cannot block, so there is nothing for it to do, and telling it has a
// cost beyond its own: the runtime's monitor thread, asleep whenever every
// P is idle (often, for a proxy waiting on its peers), is woken by the
// next syscall and then polls every 20µs for a while: about a tenth of
// the proxy's CPU under load.
func rawWrite(fd uintptr, b []byte) (int, error) {
	n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func rawRead(fd uintptr, b []byte) (int, error) {
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// reset makes the connection end with a TCP RST when it is closed.
func (w *wireConn) reset() {
	c := w.Conn
	if u, ok := c.(interface{ UnsafeConn() net.Conn }); ok {
		c = u.UnsafeConn()
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0) // close() now sends RST and drops unsent data
	}
}

// setWatch starts timing phase from tick (see watchdog). An operation
// that finished just as the watchdog cut it finished all the same: the
// cut is undone so the connection carries on.
func (w *wireConn) setWatch(phase watchPhase, tick uint32) {
	if w.watch.Swap(uint64(phase)<<32|uint64(tick)) == cutMark {
		w.cutMu.Lock()
		w.Conn.SetDeadline(time.Time{})
		w.cutMu.Unlock()
	}
}

// cutIf ends the read or write in progress at once (a deadline in the
// past) if the connection is still in the phase the watchdog saw (v).
func (w *wireConn) cutIf(v uint64) {
	w.cutMu.Lock()
	if w.watch.CompareAndSwap(v, cutMark) {
		w.Conn.SetDeadline(time.Unix(1, 0))
	}
	w.cutMu.Unlock()
}

// timedOut says whether err ended an operation because of a deadline (the
// watchdog's, see cutIf).
func timedOut(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// connSet is every open data-path connection, for the watchdog and Close.
type connSet struct {
	mu sync.Mutex
	m  map[*wireConn]struct{}
}

func (s *connSet) add(w *wireConn) {
	s.mu.Lock()
	if s.m == nil {
		s.m = map[*wireConn]struct{}{}
	}
	s.m[w] = struct{}{}
	s.mu.Unlock()
}

func (s *connSet) remove(w *wireConn) {
	s.mu.Lock()
	delete(s.m, w)
	s.mu.Unlock()
}

// each calls fn for every connection, holding the set's lock.
func (s *connSet) each(fn func(*wireConn)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for w := range s.m {
		fn(w)
	}
}

func (s *connSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
