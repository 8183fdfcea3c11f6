package chaos

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-accepted
	if b == nil {
		t.Fatal("accept failed")
	}
	for _, c := range []net.Conn{a, b} {
		c.SetDeadline(time.Now().Add(wait))
		t.Cleanup(func() { c.Close() })
	}
	return a, b
}

// send with await writes the message, then hands the peer's reply (and
// its end) to br.
func TestSendAwaitsTheReply(t *testing.T) {
	a, b := tcpPair(t)
	w := newWireConn(a, 4096)
	go func() {
		buf := make([]byte, 4)
		io.ReadFull(b, buf)
		io.WriteString(b, strings.ToUpper(string(buf))+" and more")
		b.Close()
	}()
	if err := w.send([]byte("ping"), true); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(w.br)
	if err != nil || string(got) != "PING and more" {
		t.Errorf("read %q, %v", got, err)
	}
}

// A message larger than the socket buffers goes whole, and the reply to
// it is still awaited.
func TestSendAwaitsAfterALargeMessage(t *testing.T) {
	a, b := tcpPair(t)
	w := newWireConn(a, 4096)
	msg := []byte(strings.Repeat("m", 8<<20))
	go func() {
		n, _ := io.CopyN(io.Discard, b, int64(len(msg)))
		io.WriteString(b, strings.Repeat("r", int(n>>20)))
	}()
	if err := w.send(msg, true); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	if n, err := io.ReadFull(w.br, buf); err != nil || string(buf[:n]) != "rrrrrrrr" {
		t.Errorf("read %q, %v", buf[:n], err)
	}
}

// A send on a connection closed under it fails instead of claiming the
// message went.
func TestSendOnAClosedConnectionFails(t *testing.T) {
	a, _ := tcpPair(t)
	w := newWireConn(a, 4096)
	w.Close()
	for _, await := range []bool{false, true} {
		if err := w.send([]byte("x"), await); err == nil {
			t.Errorf("await %v: no error", await)
		}
	}
}
