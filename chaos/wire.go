package chaos

import (
	"bytes"
	"io"
	"time"

	"github.com/hookrig/hookrig/chaos/fault"
)

// These carry out the answers that are not a plain HTTP response. They
// write on the client's connection from the handler (so the record is
// filed when the bytes are gone) and then end the call (inboundEnd), so the
// server closes the connection instead of writing a response.

// silence answers nothing until the client hangs up or maxHold passes, and
// then closes the connection.
func (p *Proxy) silence(c *inbound, maxHold time.Duration) string {
	conn := c.conn.Conn
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
	c.end = endClose
	return "no_answer"
}

// writePaced writes c.resp itself: its body at act.BodyRate bytes/s
// and/or cut short (see Action, step 6). It returns the record's ClientErr.
func (p *Proxy) writePaced(c *inbound, act fault.Action) string {
	if c.req.Header.IsHead() {
		c.resp.SkipBody = true
	}
	full := c.render()
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
	c.end = endClose
	conn := c.conn.Conn
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
