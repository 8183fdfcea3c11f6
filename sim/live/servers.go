package live

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/internal/httpapi"
	"github.com/hookrig/hookrig/reference/sender"
)

// loopServer serves one handler on one listener, in the background.
type loopServer struct {
	ln   net.Listener
	srv  *http.Server
	done chan struct{}
}

func serveOn(ln net.Listener, h http.Handler) *loopServer {
	s := &loopServer{ln: ln, srv: httpapi.NewServer(h), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln) // ErrServerClosed, or the listener's end
	}()
	return s
}

func (s *loopServer) URL() string { return "http://" + s.ln.Addr().String() }

// kill drops the listener and every connection at once, as a dying
// process would.
func (s *loopServer) kill() {
	_ = s.srv.Close()
	<-s.done
}

// shutdown stops accepting and lets requests in flight finish for up to
// grace.
func (s *loopServer) shutdown(grace time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
	}
	<-s.done
}

// senderHost runs the reference sender on one address for the whole run,
// across crashes: a crash kills the sender and its API server at once;
// the restart opens the same outbox and listens on the same address again,
// so the load generator carries on (and its requests in between are
// refused, counting as rejected at ingest).
type senderHost struct {
	cfg sender.Config
	clk clock.Clock

	mu     sync.Mutex
	s      *sender.Sender
	tr     *http.Transport // the sender's, so a crash can drop its connections
	conns  *connSet
	srv    *loopServer
	cancel context.CancelFunc
	addr   string
	last   sender.Stats // the counts when it went down
	down   bool
	closed bool
}

// start opens the sender and its API on a fresh loopback port (or addr).
func (h *senderHost) start(addr string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.openLocked(addr)
}

func (h *senderHost) openLocked(addr string) error {
	ln, err := httpapi.Listen(addr)
	if err != nil {
		return err
	}
	cfg := h.cfg
	workers := cfg.Workers
	if workers <= 0 {
		workers = sender.DefaultWorkers
	}
	h.tr = sender.NewTransport(workers)
	h.conns = &connSet{open: map[net.Conn]struct{}{}, dialer: h.tr.DialContext}
	h.tr.DialContext = h.conns.dial
	cfg.Transport = h.tr
	s, err := sender.Open(cfg)
	if err != nil {
		ln.Close()
		return err
	}
	// The sender's own context, not the run's: after a Ctrl-C the run
	// still drains for a moment, and the sender must keep delivering.
	ctx, cancel := context.WithCancel(context.Background())
	s.Start(ctx)
	h.s, h.cancel, h.srv = s, cancel, serveOn(ln, s.Handler())
	h.addr = ln.Addr().String()
	h.down = false
	return nil
}

// URL is the sender's API base URL.
func (h *senderHost) URL() string { return "http://" + h.addr }

// crash kills the sender as kill -9 would.
func (h *senderHost) crash() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down || h.closed || h.s == nil {
		return
	}
	h.last = h.s.Stats()
	h.srv.kill()
	h.cancel()
	h.s.Crash()
	// A dead process's sockets are closed by the kernel, in the middle
	// of a request or not; without this the proxy would wait on them.
	h.tr.CloseIdleConnections()
	h.conns.closeAll()
	h.down = true
}

// restart reopens the outbox and listens on the same address again. The
// port was just freed; if something else took it meanwhile, it retries
// for a couple of seconds before giving up.
func (h *senderHost) restart() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.down || h.closed {
		return nil
	}
	var err error
	for range 20 {
		if err = h.openLocked(h.addr); err == nil {
			return nil
		}
		clock.Sleep(h.clk, 100*time.Millisecond, nil)
	}
	return fmt.Errorf("restarting the sender after its crash: %w", err)
}

// stats returns the sender's counts and whether it is down (then the
// counts are those it had when it crashed).
func (h *senderHost) stats() (sender.Stats, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down || h.s == nil {
		return h.last, true
	}
	return h.s.Stats(), false
}

// outboxView is what the sender's outbox says besides its events.
type outboxView struct {
	// recovered says what opening the closed outbox found: the attempts
	// the close cut off, now recorded as interrupted.
	recovered sender.Recovery
	stats     sender.Stats
	endpoints []sender.Endpoint
	// reopenedAt is when the closed outbox was opened again (zero if it
	// was read open). Opening decides about what was left: it
	// dead-letters events whose endpoint was disabled and passes the
	// cut-off attempts through the policy. Those are the reading's
	// decisions, not the run's: a final state from then on is not the
	// run's account.
	reopenedAt time.Time
}

// events walks every event the sender holds, with its attempts. Once the
// sender is closed it reads the outbox through a sender opened on it and
// never started: opening records the attempts the close cut off as
// interrupted, so every attempt that left is in the account.
func (h *senderHost) events(fn func(sender.Event, outboxView) bool) (outboxView, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.s
	var v outboxView
	if h.closed {
		cfg := h.cfg
		cfg.OnAttempt = nil
		cfg.Transport = nil
		v.reopenedAt = h.clk.Now()
		var err error
		if s, err = sender.Open(cfg); err != nil {
			return v, err
		}
		defer s.Close()
		v.recovered = s.Recovered()
	} else if h.down || s == nil {
		return v, errors.New("the sender is down")
	}
	v.stats = s.Stats()
	eps, err := s.Endpoints()
	if err != nil {
		return v, err
	}
	v.endpoints = eps
	return v, s.Events(func(ev sender.Event) bool { return fn(ev, v) })
}

func (h *senderHost) createEndpoint(spec sender.EndpointSpec) (sender.Endpoint, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.s == nil {
		return sender.Endpoint{}, errors.New("the sender is not running")
	}
	return h.s.CreateEndpoint(spec)
}

// close stops the API, then the sender, gracefully.
func (h *senderHost) close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	h.closed = true
	if h.down || h.s == nil {
		return nil
	}
	h.srv.shutdown(time.Second)
	err := h.s.Close()
	h.cancel()
	return err
}

// connSet tracks the connections a transport dialled, so that they can
// all be closed at once, busy or idle.
type connSet struct {
	mu     sync.Mutex
	open   map[net.Conn]struct{}
	dialer func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (s *connSet) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := s.dialer(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, set: s}
	s.mu.Lock()
	s.open[tc] = struct{}{}
	s.mu.Unlock()
	return tc, nil
}

func (s *connSet) closeAll() {
	s.mu.Lock()
	conns := make([]net.Conn, 0, len(s.open))
	for c := range s.open {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

type trackedConn struct {
	net.Conn
	set  *connSet
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.set.mu.Lock()
		delete(c.set.open, c)
		c.set.mu.Unlock()
	})
	return c.Conn.Close()
}
