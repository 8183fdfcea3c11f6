//go:build linux

package loadgen

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/hookrig/hookrig/internal/clock"
)

// The poll loop is the open loop on Linux for plain TCP in real time. The
// portable loop costs two wake-ups of the process per request at a fixed
// rate: one when the request is due, one when its answer arrives, because
// each connection's reader waits in Go's poller and the poller wakes a
// thread for it (on this project's 2-core VM, 27% of the load generator's
// CPU was the kernel switching tasks). Here the connections are not in
// Go's poller at all: each socket is detached from its net.Conn and
// watched by an epoll of the loop's own, which the scheduler goroutine
// reads only when it chooses. While the next request is due within
// pollWindow, the scheduler sleeps on its timer alone; an answer arriving
// meanwhile wakes nobody and is read at the next wake-up, so at 1,000
// req/s or more a request costs one wake-up. Its latency is still timed
// to the microsecond: the kernel stamps each segment as it arrives
// (SO_TIMESTAMPNS) and the answer's end is the stamp of its last bytes,
// not the moment it was read. A longer wait also watches the epoll, so at
// low rates answers are read as they come.
//
// The scheduler reads answers that arrived whole (the usual case: one
// segment); a longer or chunked answer is finished by a goroutine with
// blocking reads (ppoll), and a new connection is dialled, sent its first
// request and read by one, so that neither holds up the schedule.

// pollWindow is how far ahead of the next send an answer may wait unread
// (or Config.Precision, when longer: the scheduler then wakes on that grid
// anyway). It bounds how long a connection stays busy after its answer
// came, not the latency measured.
const pollWindow = time.Millisecond

// Poll link states; a link is owned by the scheduler unless away.
const (
	pIdle = iota // waiting for a request, watched by the epoll
	pBusy        // a request in flight, watched by the epoll
	pAway        // a goroutine is dialling or reading it
	pDead        // closed
)

// epoll data of the timer and the wake-up eventfd; links use their index.
const (
	idTimer = -1
	idWake  = -2
)

// epollET is EPOLLET as the uint32 EpollEvent.Events holds (the syscall
// package's constant is negative).
const epollET = 1 << 31

type pollLink struct {
	id    int
	c     *conn
	io    fdIO
	slot  slot
	state int       // written by the scheduler only
	nap   uint64    // pollLoop.naps when its request was sent
	came  int       // the state a goroutine hands the link back in
	gen   uint64    // counts requests and hand-offs, so a stale busy entry is seen
	due   time.Time // when the request in flight times out
	stamp int64     // kernel receive time of the newest bytes, Unix ns; 0 unknown
	resp  response
	batch batch // what the link's goroutines record
	iov   syscall.Iovec
	msg   syscall.Msghdr
	oob   [64]byte
}

type busyEntry struct {
	l   *pollLink
	gen uint64
}

type pollLoop struct {
	r       *Runner
	ctx     context.Context
	comp    *composer
	ep      int // never in Go's poller: its readiness would wake a thread
	stop    func() bool
	nap     int // short waits: an epoll of the timer and wake alone, so answers do not end them
	timer   int // a timerfd outside Go's poller, in ep and nap
	clock   timerClock
	spec    itimerspec
	wake    int            // eventfd: a link came back from a goroutine
	back    chan *pollLink // links coming back from goroutines
	links   []*pollLink    // by id; a dead link's slot is reused
	free    []int          // ids of dead links
	idle    []*pollLink
	window  time.Duration // pollWindow, or the precision when longer
	busy    []busyEntry   // requests in flight in the order sent (so of timeouts), from head
	head    int
	open    int // links not dead
	away    int
	ev      [64]syscall.EpollEvent
	napEv   [2]syscall.EpollEvent
	pending int    // events waitEvents read and collect has not handled
	sent    int    // requests sent since the last collect
	naps    uint64 // waits returned: a link sent since the last has nap == naps
	// collectedAt is naps at the last collect: a wait returned since
	// (naps moved on) may have left answers unread.
	collectedAt uint64
	polled      time.Time // when collect last read the epoll
	// wallClock says the run's clock is clock.Real: one reading serves
	// as the time and to age the kernel's receive stamps.
	wallClock bool
	// stopped says the run was cancelled: one atomic load per wait, where
	// ctx.Err is a call through the run's context, and through each
	// context wrapped around it (with the clock reads, 3% of the profile).
	stopped atomic.Bool
	yielded time.Time // when sleep last yielded the P
	batch   batch
	wg      sync.WaitGroup
	one     [8]byte
}

// newPollLoop returns a poll loop for r, or nil when r needs the portable
// one (a fake clock, TLS, or the kernel refused an epoll).
func newPollLoop(ctx context.Context, r *Runner) dispatcher {
	if !r.realTime || r.target.dial.tls != nil {
		return nil
	}
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil
	}
	nap, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		syscall.Close(ep)
		return nil
	}
	_, wallClock := r.clk.(clock.Real)
	p := &pollLoop{r: r, ctx: ctx, comp: r.newComposer(), ep: ep, nap: nap, timer: -1, wake: -1, wallClock: wallClock,
		back: make(chan *pollLink, r.cfg.Concurrency), window: max(pollWindow, r.cfg.Precision)}
	fd, _, e1 := syscall.Syscall(syscall.SYS_TIMERFD_CREATE, 1 /* CLOCK_MONOTONIC */, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if e1 == 0 {
		p.timer = int(fd)
	}
	fd, _, e2 := syscall.Syscall(syscall.SYS_EVENTFD2, 0, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if e2 == 0 {
		p.wake = int(fd)
	}
	// The timer is edge-triggered: each expiry is reported once, and
	// timerfd_settime clears what was not read, so it is never read.
	timer := syscall.EpollEvent{Events: syscall.EPOLLIN | epollET, Fd: idTimer}
	wake := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: idWake}
	if e1 != 0 || e2 != 0 || errors.Join(
		syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, p.timer, &timer), syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, p.wake, &wake),
		syscall.EpollCtl(nap, syscall.EPOLL_CTL_ADD, p.timer, &timer), syscall.EpollCtl(nap, syscall.EPOLL_CTL_ADD, p.wake, &wake)) != nil {
		p.closeFDs()
		return nil
	}
	if !p.clock.sync(r.clk) {
		p.closeFDs()
		return nil
	}
	// Cancelling the run wakes a wait on the epoll.
	p.stop = context.AfterFunc(ctx, func() {
		p.stopped.Store(true)
		p.nudge()
	})
	return p
}

func (p *pollLoop) closeFDs() {
	for _, fd := range []int{p.ep, p.nap, p.timer, p.wake} {
		if fd >= 0 {
			syscall.Close(fd)
		}
	}
}

func (p *pollLoop) close() {
	p.stop()
	p.closeFDs()
}

// wait waits until the moment until, reading answers and timing out
// requests meanwhile. False when the run was cancelled.
//
// Right after a wake-up it returns before reading anything, so that the
// request due leaves first; the answers are read when the scheduler next
// waits (one epoll read per request, not one before and one after the
// send). A scheduler running behind, with requests due one after the
// other, still reads every collectEvery requests.
func (p *pollLoop) wait(until time.Time) bool {
	for {
		if p.stopped.Load() {
			return false
		}
		now := p.r.clk.Now()
		if !until.After(now) && p.sent < collectEvery {
			return true
		}
		p.collect(now, true)
		if !until.After(now) {
			return true
		}
		next := until
		if d, ok := p.nextTimeout(); ok && d.Before(next) {
			next = d
		}
		if until.Sub(now) <= p.window {
			p.sleep(next, now) // answers do not wake this
		} else {
			p.waitEvents(next, now)
		}
	}
}

// collectEvery bounds how many requests a scheduler running behind, or
// sending a precision step's burst, sends before it reads the answers and
// times out the requests past their timeout. (send reads them sooner when
// it finds no idle link.) High, so that a burst is not held up reading.
const collectEvery = 256

// yieldEvery is how often a scheduler that sleeps in system calls yields
// its P (the runtime's monitor preempts after 10 ms).
const yieldEvery = 5 * time.Millisecond

// sleep waits until the moment until on the nap epoll: the timer, or a
// nudge (a link back from a goroutine, or the run's cancellation). It is
// a blocking system call, not a wait in Go's poller: the goroutine keeps
// its thread, and the runtime neither parks it nor looks for other work
// (findRunnable, netpoll: 14% of the CPU samples at 2,000 req/s when the
// timer was in Go's poller).
func (p *pollLoop) sleep(until, now time.Time) {
	if now.Sub(p.yielded) >= yieldEvery {
		// A goroutine that never leaves its P looks stuck to the
		// runtime's monitor, which after 10 ms takes the P from the
		// system call and hands it to another thread, and then polls
		// every 20 µs again: yielding now and then tells it otherwise.
		runtime.Gosched()
		p.yielded = now
	}
	if !p.arm(until, now) {
		return
	}
	n, _, e := syscall.Syscall6(syscall.SYS_EPOLL_PWAIT, uintptr(p.nap), uintptr(unsafe.Pointer(&p.napEv[0])), uintptr(len(p.napEv)), ^uintptr(0), 0, 0)
	p.naps++
	for i := 0; e == 0 && i < int(n); i++ {
		if p.napEv[i].Fd == idWake {
			// Read it here: collect may not read the epoll, and the
			// eventfd would end every sleep until it did.
			syscall.RawSyscall(syscall.SYS_READ, uintptr(p.wake), uintptr(unsafe.Pointer(&p.one[0])), 8)
		}
	}
}

// waitEvents waits until the epoll has something: an answer, a link back
// from a goroutine, the timer set for until, or the run's cancellation.
// It blocks in epoll_pwait as an ordinary system call (the runtime lends
// the P meanwhile). now is a recent reading of the clock.
func (p *pollLoop) waitEvents(until, now time.Time) {
	if !p.arm(until, now) {
		return
	}
	n, _, e := syscall.Syscall6(syscall.SYS_EPOLL_PWAIT, uintptr(p.ep), uintptr(unsafe.Pointer(&p.ev[0])), uintptr(len(p.ev)), ^uintptr(0), 0, 0)
	if e == 0 {
		p.pending = int(n)
	}
	p.naps++
}

// arm sets the timer to expire at until, false if until is not after now
// (a recent reading of the clock) or the kernel refused. The moment is
// absolute, so the reading need not be fresh: the time since it (reading
// the answers, say) does not delay the wake-up. (A repeating timerfd would
// save the system call at a steady pace, but the kernel re-arms one only
// when it is read: a system call all the same.)
func (p *pollLoop) arm(until, now time.Time) bool {
	if !until.After(now) {
		return false
	}
	return p.clock.arm(uintptr(p.timer), &p.spec, until)
}

// poll reads the epoll's ready events without waiting.
func (p *pollLoop) poll() int {
	n, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(p.ep), uintptr(unsafe.Pointer(&p.ev[0])), uintptr(len(p.ev)), 0, 0, 0)
	if e != 0 {
		return 0
	}
	return int(n)
}

// collect handles what is ready: answers, links back from goroutines,
// requests past their timeout. direct lets it read the answers straight
// from their sockets (readDirect), which leaves those to requests sent
// since the last wait unread: false where they are needed (waitLink,
// drain, and send when the scheduler runs behind and sent more since its
// last collect, or it would dial while answered links sit unread).
func (p *pollLoop) collect(now time.Time, direct bool) {
	p.sent, p.collectedAt = 0, p.naps
	if p.pending > 0 || !direct || !p.readDirect(now) {
		p.readEpoll()
		p.polled = now
	}
	for {
		select {
		case l := <-p.back:
			p.returned(l)
			continue
		default:
		}
		break
	}
	p.expire(now)
}

// directFor and directMax bound readDirect: the epoll is read at least
// every directFor, and whenever more than directMax requests sent before
// the last wait are in flight (one read of the epoll then serves them).
const (
	directFor = 10 * time.Millisecond
	directMax = 4
)

// readDirect reads the answers to the few requests sent before the
// scheduler last waited straight from their sockets, without reading the
// epoll first: at a steady rate that is one system call per wake-up fewer
// (perf stat at 2,000/s: 5.1 per request against bombardier's 4.5, one of
// them the epoll read). Requests sent since the wait are left for the next
// wake-up, as the epoll would mostly find them (their answers have rarely
// come yet). The epoll still tells within directFor that the server
// closed an idle link, before a burst reuses it. False when the epoll
// must be read instead.
func (p *pollLoop) readDirect(now time.Time) bool {
	if now.Sub(p.polled) >= directFor || len(p.busy)-p.head > 2*directMax {
		return false
	}
	var due [directMax]*pollLink
	n := 0
	for _, e := range p.busy[p.head:] {
		l := e.l
		if l.gen != e.gen || l.state != pBusy || l.nap == p.naps {
			continue // answered, or sent since the last wait
		}
		if n == directMax {
			return false
		}
		due[n] = l
		n++
	}
	for _, l := range due[:n] {
		p.readable(l)
	}
	return true
}

// readEpoll handles what the epoll says is ready (or waitEvents read).
func (p *pollLoop) readEpoll() {
	for {
		n := p.pending
		p.pending = 0
		if n == 0 {
			n = p.poll()
		}
		for i := range n {
			switch id := int(p.ev[i].Fd); id {
			case idTimer: // edge-triggered: nothing to read
			case idWake:
				syscall.RawSyscall(syscall.SYS_READ, uintptr(p.wake), uintptr(unsafe.Pointer(&p.one[0])), 8)
			default:
				p.readable(p.links[id])
			}
		}
		if n < len(p.ev) {
			break
		}
	}
}

// returned takes back a link a goroutine dialled (and sent its first
// request on: it comes back busy) or read.
func (p *pollLoop) returned(l *pollLink) {
	p.away--
	l.state = l.came
	if l.state == pDead {
		p.open--
		p.bury(l)
		return
	}
	if err := syscall.EpollCtl(p.ep, syscall.EPOLL_CTL_ADD, l.c.fd, &syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(l.id)}); err != nil {
		if l.state == pBusy {
			p.finish(l, os.NewSyscallError("epoll_ctl", err))
		} else {
			p.kill(l)
		}
		return
	}
	if l.state == pBusy {
		// Its timeout may come before those sent since it was dialled:
		// it is then found at most a dial's time late.
		p.inFlight(l)
		return
	}
	l.state = pIdle
	p.idle = append(p.idle, l)
}

// readable reads what arrived on l.
func (p *pollLoop) readable(l *pollLink) {
	switch l.state {
	case pIdle:
		// The server closed an idle connection, or sent what nobody asked
		// for: either way it is done.
		p.kill(l)
		return
	case pBusy:
	default:
		return
	}
	n, err := l.recv()
	switch {
	case err == syscall.EAGAIN || err == syscall.EINTR:
		return
	case err != nil:
		p.finish(l, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("recvmsg", err)})
	case n == 0:
		p.finish(l, io.EOF)
	case answerComplete(l.c.buf[l.c.r:l.c.w]):
		p.finish(l, nil)
	default:
		// Part of a long or chunked answer: a goroutine reads the rest.
		syscall.EpollCtl(p.ep, syscall.EPOLL_CTL_DEL, l.c.fd, nil)
		l.state = pAway
		l.gen++
		p.away++
		p.wg.Add(1)
		go p.finishAway(l)
	}
}

// finish files the answer to l's request (err: why there is none) and
// frees or closes the link.
func (p *pollLoop) finish(l *pollLink, err error) {
	r := p.r
	wall := time.Now() // the kernel's stamps are wall-clock times
	now := wall
	if !p.wallClock {
		now = r.clk.Now()
	}
	end := now
	if err == nil && l.stamp > 0 {
		// The answer came when the kernel stamped its last bytes.
		if age := time.Duration(wall.UnixNano() - l.stamp); age > 0 {
			end = now.Add(-age)
		}
		if end.Before(l.slot.q.started) {
			end = l.slot.q.started
		}
	}
	if err == nil {
		l.io.due = l.due
		err = l.c.readResponse(&l.resp) // whole in the buffer: no read
	}
	r.inflight.Add(-1)
	r.record(&p.batch, &l.slot.q, end, l.resp.status, l.resp.bytes, classify(err, r.stopping.Load()))
	l.gen++
	if err != nil || l.resp.close || l.c.buffered() || r.stopping.Load() {
		p.kill(l)
		return
	}
	l.resp = response{}
	l.state = pIdle
	p.idle = append(p.idle, l)
}

// kill closes a link the scheduler owns.
func (p *pollLoop) kill(l *pollLink) {
	l.state = pDead
	l.gen++
	p.open--
	p.r.dropConn(l.c) // closing the socket takes it out of the epoll
	p.bury(l)
}

// bury files what a dead link recorded and frees its slot, so that a
// target closing every connection costs no memory per request. (Stale
// entries in busy or idle still point at it, dead: they are skipped.)
func (p *pollLoop) bury(l *pollLink) {
	p.r.tally.merge(&l.batch)
	l.c = nil
	p.free = append(p.free, l.id)
}

// expire times out the requests in flight past their due time.
func (p *pollLoop) expire(now time.Time) {
	for {
		l, ok := p.oldest()
		if !ok || now.Before(l.due) {
			return
		}
		p.finish(l, os.ErrDeadlineExceeded)
	}
}

// oldest is the request in flight sent first (so the first to time out),
// stale entries dropped on the way.
func (p *pollLoop) oldest() (*pollLink, bool) {
	for p.head < len(p.busy) {
		e := p.busy[p.head]
		if e.l.gen == e.gen && e.l.state == pBusy {
			return e.l, true
		}
		p.busy[p.head] = busyEntry{}
		p.head++
	}
	// Empty: start over at the front of the same array (a slice popped
	// from the front would reallocate as it is appended to).
	p.busy, p.head = p.busy[:0], 0
	return nil, false
}

// nextTimeout is when the oldest request in flight times out.
func (p *pollLoop) nextTimeout() (time.Time, bool) {
	if l, ok := p.oldest(); ok {
		return l.due, true
	}
	return time.Time{}, false
}

// inFlight appends a request just sent (or handed back busy) to busy.
func (p *pollLoop) inFlight(l *pollLink) {
	if p.head > 0 && len(p.busy) == cap(p.busy) {
		n := copy(p.busy, p.busy[p.head:])
		clear(p.busy[n:])
		p.busy, p.head = p.busy[:n], 0
	}
	p.busy = append(p.busy, busyEntry{l, l.gen})
}

// send sends t on an idle link, a new one, or — when Concurrency requests
// are in flight already — the first link to come free (the wait counts in
// the request's corrected latency). False if the run ended or was
// cancelled while waiting.
func (p *pollLoop) send(t ticket, start time.Time, dur time.Duration) bool {
	p.sent++
	for {
		for len(p.idle) > 0 {
			l := p.idle[len(p.idle)-1]
			p.idle = p.idle[:len(p.idle)-1]
			if l.state == pIdle {
				p.write(l, t)
				return true
			}
		}
		if p.sent > 1 || p.naps != p.collectedAt {
			// Answers not read yet (sent since the last collect, or
			// come while the scheduler slept) may have freed a link:
			// cheaper than a new connection. Straight from the sockets
			// only if no other request left since the last collect:
			// readDirect leaves those sent since the last wait unread.
			p.collect(p.r.clk.Now(), p.sent <= 1)
			p.sent = 1
			continue
		}
		if p.open < p.r.cfg.Concurrency {
			p.spawn(t)
			return true
		}
		if !p.waitLink(start, dur) {
			return false
		}
	}
}

// waitLink waits until a link is free or another may be opened, until the
// run's end.
func (p *pollLoop) waitLink(start time.Time, dur time.Duration) bool {
	for {
		now := p.r.clk.Now()
		p.collect(now, false)
		if p.ctx.Err() != nil || p.r.stopping.Load() {
			return false // and not a link freed by the abort
		}
		if len(p.idle) > 0 || p.open < p.r.cfg.Concurrency {
			return true
		}
		next := now.Add(time.Second)
		if dur > 0 {
			end := start.Add(dur)
			if !end.After(now) {
				return false
			}
			if end.Before(next) {
				next = end
			}
		}
		if d, ok := p.nextTimeout(); ok && d.Before(next) {
			next = d
		}
		p.waitEvents(next, now)
	}
}

// write sends t on the idle link l.
func (p *pollLoop) write(l *pollLink, t ticket) {
	r := p.r
	if err := r.prepare(p.comp, &l.slot, t); err != nil {
		r.record(&p.batch, &l.slot.q, r.clk.Now(), 0, 0, errPayload)
		p.idle = append(p.idle, l)
		return
	}
	r.inflight.Add(1)
	l.state, l.stamp, l.nap = pBusy, 0, p.naps
	l.gen++
	l.due = l.slot.q.started.Add(r.timeout)
	l.io.due = l.due
	p.inFlight(l)
	if err := l.c.send(l.slot.req); err != nil {
		p.finish(l, err)
	}
}

// spawn opens a new link for t: a goroutine dials and sends t, then hands
// the link to the scheduler, which reads the answer.
func (p *pollLoop) spawn(t ticket) {
	r := p.r
	l := &pollLink{id: len(p.links)}
	if err := r.prepare(p.comp, &l.slot, t); err != nil {
		r.record(&p.batch, &l.slot.q, r.clk.Now(), 0, 0, errPayload)
		return
	}
	if n := len(p.free); n > 0 {
		l.id = p.free[n-1]
		p.free = p.free[:n-1]
		p.links[l.id] = l
	} else {
		p.links = append(p.links, l)
	}
	l.state = pAway
	l.gen++
	l.due = l.slot.q.started.Add(r.timeout)
	l.io.due = l.due
	p.open++
	p.away++
	p.wg.Add(1)
	go p.dial(l)
}

// dial runs on a new link's goroutine: it dials, sends the link's first
// request and hands the link back busy (or dead, the failure recorded).
func (p *pollLoop) dial(l *pollLink) {
	r := p.r
	defer p.wg.Done()
	c, err := r.dialDetached(p.ctx)
	if err == nil {
		l.c = c
		l.c.io = &l.io
		l.io.fd = c.fd
		r.inflight.Add(1)
		if err = c.send(l.slot.req); err != nil {
			r.inflight.Add(-1)
			r.dropConn(c)
		}
	}
	if err != nil {
		l.came = pDead
		r.record(&l.batch, &l.slot.q, r.clk.Now(), 0, 0, classify(err, r.stopping.Load()))
	} else {
		l.came = pBusy
	}
	p.giveBack(l)
}

// finishAway runs on a goroutine of its own for an answer too long or
// chunked to take whole from one read: it reads the rest with blocking
// reads, records it and hands the link back.
func (p *pollLoop) finishAway(l *pollLink) {
	r := p.r
	defer p.wg.Done()
	err := l.c.readResponse(&l.resp)
	r.inflight.Add(-1)
	r.record(&l.batch, &l.slot.q, r.clk.Now(), l.resp.status, l.resp.bytes, classify(err, r.stopping.Load()))
	l.came = pIdle
	if err != nil || l.resp.close || l.c.buffered() || r.stopping.Load() {
		l.came = pDead
		r.dropConn(l.c)
	}
	l.resp = response{}
	p.giveBack(l)
}

// giveBack hands l to the scheduler and wakes it.
func (p *pollLoop) giveBack(l *pollLink) {
	p.back <- l
	p.nudge()
}

// nudge wakes the scheduler if it waits on the epoll.
func (p *pollLoop) nudge() {
	one := [8]byte{1}
	syscall.RawSyscall(syscall.SYS_WRITE, uintptr(p.wake), uintptr(unsafe.Pointer(&one[0])), 8)
}

// drain lets the requests in flight finish, then closes every link.
func (p *pollLoop) drain() {
	for {
		now := p.r.clk.Now()
		p.collect(now, false)
		_, busy := p.nextTimeout()
		if !busy && p.away == 0 {
			break
		}
		if p.ctx.Err() != nil {
			// Cancelled: the sockets are shut (Runner.abort), so the
			// goroutines end at once; what the scheduler holds ends here.
			for {
				l, ok := p.oldest()
				if !ok {
					break
				}
				p.finish(l, context.Canceled)
			}
			for p.away > 0 {
				p.returned(<-p.back)
			}
			break
		}
		d, _ := p.nextTimeout()
		if !busy {
			d = now.Add(time.Second)
		}
		p.waitEvents(d, now)
	}
	for _, l := range p.idle {
		if l.state == pIdle {
			p.kill(l)
		}
	}
	p.idle = nil
	p.wg.Wait()
	p.r.tally.merge(&p.batch)
	for _, l := range p.links {
		p.r.tally.merge(&l.batch) // the dead ones' are empty (bury)
	}
}

// recv reads what is there into l's buffer, noting the kernel's receive
// stamp of the newest bytes.
func (l *pollLink) recv() (int, error) {
	c := l.c
	if err := c.room(); err != nil {
		return 0, err
	}
	l.iov.Base = &c.buf[c.w]
	l.iov.SetLen(len(c.buf) - c.w)
	l.msg.Iov = &l.iov
	l.msg.Iovlen = 1
	l.msg.Control = &l.oob[0]
	l.msg.SetControllen(len(l.oob))
	n, _, e := syscall.RawSyscall(syscall.SYS_RECVMSG, uintptr(c.fd), uintptr(unsafe.Pointer(&l.msg)), syscall.MSG_DONTWAIT)
	if e != 0 {
		return 0, e
	}
	c.w += int(n)
	if ts, ok := receiveStamp(l.oob[:l.msg.Controllen]); ok {
		l.stamp = ts
	}
	return int(n), nil
}

// receiveStamp finds the SO_TIMESTAMPNS control message in oob.
func receiveStamp(oob []byte) (int64, bool) {
	const hdr = int(unsafe.Sizeof(syscall.Cmsghdr{}))
	for len(oob) >= hdr {
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0]))
		if int(h.Len) < hdr || int(h.Len) > len(oob) {
			return 0, false
		}
		if h.Level == syscall.SOL_SOCKET && h.Type == syscall.SO_TIMESTAMPNS && int(h.Len) >= hdr+16 {
			ts := (*syscall.Timespec)(unsafe.Pointer(&oob[hdr]))
			return ts.Nano(), true
		}
		step := (int(h.Len) + 7) &^ 7
		if step > len(oob) {
			return 0, false
		}
		oob = oob[step:]
	}
	return 0, false
}

// dialDetached dials like dial, then takes the socket out of Go's poller
// (a duplicate of it outlives the net.Conn, whose Close unregisters it) so
// that its arrivals wake no thread; the kernel stamps what it receives.
func (r *Runner) dialDetached(ctx context.Context) (*conn, error) {
	c, err := r.target.dial.dial(ctx)
	if err != nil {
		return nil, err
	}
	tc, ok := c.nc.(*net.TCPConn)
	if !ok {
		c.close()
		return nil, errors.New("not a TCP connection")
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		c.close()
		return nil, err
	}
	fd := -1
	var derr error
	cerr := rc.Control(func(s uintptr) {
		n, _, e := syscall.Syscall(syscall.SYS_FCNTL, s, syscall.F_DUPFD_CLOEXEC, 0)
		if e != 0 {
			derr = os.NewSyscallError("fcntl", e)
			return
		}
		fd = int(n)
	})
	c.nc.Close()
	if err := errors.Join(cerr, derr); err != nil {
		return nil, err
	}
	syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	d := &conn{fd: fd, buf: c.buf}
	if !r.addConn(d) {
		d.close()
		return nil, context.Canceled
	}
	return d, nil
}

// fdIO reads and writes a detached, non-blocking socket, waiting with
// ppoll (a blocking system call: only the goroutines that finish long
// answers and first requests wait this way) until due.
type fdIO struct {
	fd  int
	due time.Time // zero: no deadline
}

func (f *fdIO) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(f.fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		switch e {
		case 0:
			if n == 0 {
				return 0, io.EOF
			}
			return int(n), nil
		case syscall.EINTR:
		case syscall.EAGAIN:
			if err := f.await(pollIn); err != nil {
				return 0, err
			}
		default:
			return 0, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", e)}
		}
	}
}

func (f *fdIO) Write(b []byte) (int, error) {
	done := 0
	for done < len(b) {
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(f.fd), uintptr(unsafe.Pointer(&b[done])), uintptr(len(b)-done))
		switch e {
		case 0:
			done += int(n)
		case syscall.EINTR:
		case syscall.EAGAIN:
			if err := f.await(pollOut); err != nil {
				return done, err
			}
		default:
			return done, &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", e)}
		}
	}
	return done, nil
}

const (
	pollIn  = 0x1
	pollOut = 0x4
)

// await blocks until the socket is ready for events or f is due.
func (f *fdIO) await(events int16) error {
	pfd := struct {
		fd             int32
		events, revent int16
	}{int32(f.fd), events, 0}
	var tsp uintptr
	var ts syscall.Timespec
	if !f.due.IsZero() {
		d := time.Until(f.due)
		if d <= 0 {
			return os.ErrDeadlineExceeded
		}
		ts = syscall.NsecToTimespec(int64(d))
		tsp = uintptr(unsafe.Pointer(&ts))
	}
	_, _, e := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1, tsp, 0, 0, 0)
	if e != 0 && e != syscall.EINTR {
		return os.NewSyscallError("ppoll", e)
	}
	return nil
}

func closeFD(fd int) error { return syscall.Close(fd) }

func shutdownFD(fd int) { syscall.Shutdown(fd, syscall.SHUT_RDWR) }
