package chaos

import (
	"bytes"
	"io"
	"net"
	"time"

	"github.com/valyala/fasthttp"
)

// These carry out the answers that are not a plain HTTP response. They
// write on the client's connection from the handler (so the record is
// filed when the bytes are gone) and then hijack the connection with no
// response, so fasthttp closes it instead of writing one.

// resetConn makes the client's connection end with a TCP RST.
func resetConn(ctx *fasthttp.RequestCtx) {
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) {
		if u, ok := c.(interface{ UnsafeConn() net.Conn }); ok {
			c = u.UnsafeConn()
		}
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // close() now sends RST and drops unsent data
		}
	})
}

// closeQuietly ends the exchange with a FIN and no (further) response.
func closeQuietly(ctx *fasthttp.RequestCtx) {
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(net.Conn) {})
}

// silence answers nothing until the client hangs up or maxHold passes, and
// then closes the connection.
func (p *Proxy) silence(ctx *fasthttp.RequestCtx, maxHold time.Duration) string {
	conn := ctx.Conn()
	conn.SetReadDeadline(time.Time{})
	gone := make(chan struct{})
	go func() {
		io.Copy(io.Discard, conn) // returns when the client closes, or below
		close(gone)
	}()
	t := p.clock.NewTimer(maxHold)
	select {
	case <-gone:
	case <-t.C():
	case <-p.closing:
	}
	t.Stop()
	conn.SetReadDeadline(time.Unix(1, 0)) // any past instant: unblock the reader
	<-gone
	closeQuietly(ctx)
	return "no_answer"
}

// writePaced writes ctx.Response itself: its body at act.BodyRate bytes/s
// and/or cut short (see Action, step 6). It returns the record's ClientErr.
func (p *Proxy) writePaced(ctx *fasthttp.RequestCtx, act Action) string {
	var buf bytes.Buffer
	ctx.Response.WriteTo(&buf)
	full := buf.Bytes()
	head := bytes.Index(full, []byte("\r\n\r\n")) + 4
	limit, result := len(full), ""
	if act.Truncate {
		result = "truncated"
		if body := len(full) - head; body > 0 {
			limit = head + min(act.TruncateAfter, body-1)
		} else {
			limit = head - 2
		}
	}
	defer closeQuietly(ctx)
	conn := ctx.Conn()
	if _, err := conn.Write(full[:min(head, limit)]); err != nil {
		return "client_gone"
	}
	chunk, every := len(full), time.Duration(0)
	if act.BodyRate > 0 {
		chunk = max(1, act.BodyRate/10)
		every = time.Duration(chunk) * time.Second / time.Duration(act.BodyRate)
	}
	for off := head; off < limit; off += chunk {
		if off > head && !p.wait(every) {
			return "shutdown"
		}
		if _, err := conn.Write(full[off:min(off+chunk, limit)]); err != nil {
			return "client_gone"
		}
	}
	return result
}
