package chaos

import (
	"bufio"
	"errors"
	"net"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/hookrig/hookrig/internal/clock"
)

// The proxy's HTTP/1.1 server: fasthttp parses and renders the messages,
// the loop below owns the connections. It is its own loop rather than a
// fasthttp.Server so that answering a request and waiting for the next
// one are one step (wireConn.send with await): no read fails with EAGAIN
// and no deadline is set per request (the watchdog times connections).

// inbound is one request read from a client connection, and its answer. A
// connection keeps one inbound for all its requests.
type inbound struct {
	req    fasthttp.Request
	resp   fasthttp.Response
	conn   *wireConn
	end    inboundEnd
	out    sink // resp rendered
	bw     *bufio.Writer
	header fasthttp.RequestHeader // req's, kept while its body is read
	path   string                 // the last request's path
}

// pathString is req's path as a string, allocated only when it differs
// from the previous request's on the connection (a sender posts to one
// path again and again).
func (x *inbound) pathString() string {
	if p := x.req.URI().Path(); string(p) != x.path {
		x.path = string(p)
	}
	return x.path
}

// inboundEnd is what happens to the client's connection once the handler
// returns.
type inboundEnd uint8

const (
	endAnswer inboundEnd = iota // write resp, then keep the connection unless told to close
	endReset                    // nothing more: close with a TCP RST
	endClose                    // nothing more (answered already, or silence): close with a FIN
)

// readBufferSize bounds a request's header block, as nginx's default
// large header buffer does; larger headers get 431.
const readBufferSize = 8 << 10

var continueLine = []byte("HTTP/1.1 100 Continue\r\n\r\n")

// accept serves every connection the gate accepts until it closes. Each
// joins conns before accept takes the next, so that shutdown, which waits
// for accept to return, sees them all.
func (p *Proxy) accept() {
	defer close(p.accepted)
	var backoff time.Duration
	for {
		c, err := p.gate.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait a little and
			// retry, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			p.log.Warn("chaos: accept failed; retrying", "err", err, "in", backoff)
			clock.Sleep(p.dog.clock, backoff, p.closing)
			continue
		}
		backoff = 0
		if p.clients.len() >= p.cfg.MaxConns && !p.evictIdle() {
			p.refuse(c)
			continue
		}
		w := newWireConn(c, readBufferSize)
		w.setWatch(phaseOpened, p.dog.now())
		p.conns.add(w)
		p.clients.add(w)
		p.serving.Add(1)
		go p.serveConn(w)
	}
}

// evictIdle makes room at the connection cap: it ends the client
// connection that has waited longest for a request (kept alive after an
// answer, or opened and silent), as its own idle timeout would, and
// reports whether there was one. Ended, such a connection loses no
// request. The newcomer is admitted at once; the cap may be passed by the
// few evictions still closing.
func (p *Proxy) evictIdle() bool {
	var oldest *wireConn
	var oldestWatch uint64
	now := p.dog.now()
	p.clients.each(func(w *wireConn) {
		v := w.watch.Load()
		if v == cutMark {
			return
		}
		if ph := watchPhase(v >> 32); ph != phaseIdle && ph != phaseOpened {
			return
		}
		if oldest == nil || now-uint32(v) > now-uint32(oldestWatch) {
			oldest, oldestWatch = w, v
		}
	})
	if oldest == nil {
		return false
	}
	oldest.cutIf(oldestWatch)
	return true
}

// busyAnswer is what a client gets when every connection is busy.
var busyAnswer = []byte("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n")

// refuse answers a connection over the cap 503 and closes it, without
// waiting for its request.
func (p *Proxy) refuse(c net.Conn) {
	c.Write(busyAnswer) // a fresh socket's send buffer takes it: cannot block
	c.Close()
}

// serveConn reads requests from one client connection and answers them
// in order until either side closes it.
func (p *Proxy) serveConn(w *wireConn) {
	defer p.serving.Done()
	s := p.inbounds.Get().(*inbound)
	s.conn = w
	defer func() {
		p.conns.remove(w)
		p.clients.remove(w)
		w.Close()
		s.req.Reset()
		s.resp.Reset()
		s.conn, s.end = nil, endAnswer
		p.inbounds.Put(s)
	}()
	for {
		// A connection that closes, times out or is shut down before a
		// request begins just ends: there was no request to answer.
		if _, err := w.br.Peek(1); err != nil {
			return
		}
		w.setWatch(phaseRequest, p.dog.now())
		if err := s.read(p.cfg.MaxBody); err != nil {
			if p.stopping.Load() {
				return // shut down while it arrived, as an idle connection is
			}
			w.setWatch(phaseIdle, p.dog.now()) // bounds the error's write
			p.unreadable(s, err)
			s.resp.SetConnectionClose()
			s.answer(false)
			return
		}
		w.setWatch(phaseNone, 0)
		p.handle(s)
		switch s.end {
		case endReset:
			w.reset()
			return
		case endClose:
			return
		}
		// From here Close may end the connection's read side (see
		// Proxy.Close): it is idle once the answer is written.
		w.setWatch(phaseIdle, p.dog.now())
		closing := s.req.Header.ConnectionClose() || s.resp.Header.ConnectionClose() || p.stopping.Load()
		if closing {
			s.resp.SetConnectionClose()
		} else if !s.req.Header.IsHTTP11() {
			s.resp.Header.Set(fasthttp.HeaderConnection, "keep-alive")
		}
		s.resp.SkipBody = s.req.Header.IsHead()
		// A pipelined request already read is answered without waiting.
		if err := s.answer(!closing && w.br.Buffered() == 0); err != nil || closing {
			return
		}
		s.req.Reset()
		s.resp.Reset()
	}
}

// read reads a request: its header, then, after a "100 Continue" if the
// client waits for one, its body (kept as it came: a multipart form is not
// parsed). A request that fails in its body keeps its header, so that its
// record says which event it was.
func (x *inbound) read(maxBody int) error {
	if err := x.req.Header.Read(x.conn.br); err != nil {
		return err
	}
	if x.req.MayContinue() {
		if err := x.conn.send(continueLine, false); err != nil {
			return err
		}
	}
	// The header is copied only when the body is not all in already, so
	// that reading it could fail: rarely, for a webhook.
	n := x.req.Header.ContentLength()
	whole := n >= 0 && x.conn.br.Buffered() >= n
	if !whole {
		x.req.Header.CopyTo(&x.header)
	}
	err := x.req.ContinueReadBody(x.conn.br, maxBody, false)
	if err != nil && !whole {
		x.header.CopyTo(&x.req.Header)
	}
	return err
}

// answer writes resp with one write; with await, it then waits for the
// client's next request (see wireConn.send).
func (x *inbound) answer(await bool) error { return x.conn.send(x.render(), await) }

// render returns resp as it goes on the wire (valid until the next render).
func (x *inbound) render() []byte {
	x.resp.Header.SetNoDefaultContentType(true)
	x.out.b = x.out.b[:0]
	x.resp.Write(x.bw) // into out: cannot fail
	x.bw.Flush()
	return x.out.b
}

func newInbound() any {
	x := &inbound{}
	x.bw = bufio.NewWriterSize(&x.out, 4096)
	return x
}

// shutdown ends serving: no new connections; idle ones end at once (their
// read side is shut, so a client sees its kept-alive connection close
// rather than a request lost), busy ones after their answer, which says
// "Connection: close"; after grace, whatever is left is closed.
func (p *Proxy) shutdown(grace time.Duration) error {
	p.stopping.Store(true)
	p.gate.Close()
	<-p.accepted
	p.conns.each(func(w *wireConn) {
		if ph := watchPhase(w.watch.Load() >> 32); ph == phaseOpened || ph == phaseIdle {
			if cr, ok := w.Conn.(interface{ CloseRead() error }); ok {
				cr.CloseRead()
			} else {
				w.Close()
			}
		}
	})
	done := make(chan struct{})
	go func() {
		p.serving.Wait()
		close(done)
	}()
	var err error
	t := p.dog.clock.NewTimer(grace)
	select {
	case <-done:
	case <-t.C():
		err = errors.New("chaos: requests still in flight after the shutdown grace; closed them")
		p.conns.each(func(w *wireConn) { w.Close() })
		<-done
	}
	t.Stop()
	return err
}
