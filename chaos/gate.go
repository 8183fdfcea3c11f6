package chaos

import (
	"net"
	"sync"
)

// gate is the proxy's listener. While the endpoint is "down" it closes the
// real listening socket, so connecting is refused (RST to the SYN), and
// reopens it on the same address afterwards. Accept blocks through a down
// window instead of failing, so the HTTP server keeps serving.
type gate struct {
	addr net.Addr

	mu     sync.Mutex
	ln     net.Listener  // nil while down
	wake   chan struct{} // closed when ln comes back or the gate closes
	closed bool
}

func newGate(ln net.Listener) *gate {
	return &gate{addr: ln.Addr(), ln: ln, wake: make(chan struct{})}
}

func (g *gate) Addr() net.Addr { return g.addr }

func (g *gate) Accept() (net.Conn, error) {
	for {
		g.mu.Lock()
		ln, wake, closed := g.ln, g.wake, g.closed
		g.mu.Unlock()
		if closed {
			return nil, net.ErrClosed
		}
		if ln == nil {
			<-wake
			continue
		}
		c, err := ln.Accept()
		if err == nil {
			return c, nil
		}
		g.mu.Lock()
		ours := g.closed || g.ln != ln // we closed it: go down or stop
		g.mu.Unlock()
		if !ours {
			return nil, err
		}
	}
}

// setDown closes or reopens the socket. Reopening can fail if something
// else took the port meanwhile; the caller retries.
func (g *gate) setDown(down bool) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed || down == (g.ln == nil) {
		return nil
	}
	if down {
		ln := g.ln
		g.ln = nil
		return ln.Close()
	}
	ln, err := net.Listen(g.addr.Network(), g.addr.String())
	if err != nil {
		return err
	}
	g.ln = ln
	close(g.wake)
	g.wake = make(chan struct{})
	return nil
}

func (g *gate) isDown() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.ln == nil && !g.closed
}

func (g *gate) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	close(g.wake)
	if g.ln != nil {
		return g.ln.Close()
	}
	return nil
}
