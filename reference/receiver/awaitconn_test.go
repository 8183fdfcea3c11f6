package receiver

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// awaitPair is an awaitConn accepted over real loopback TCP, and the
// client's end of it.
func awaitPair(t *testing.T) (*awaitConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	al := &awaitListener{Listener: ln, conns: &connSet{}}
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := al.Accept()
	if err != nil {
		t.Fatal(err)
	}
	a := c.(*awaitConn)
	if a.raw == nil {
		t.Fatal("a TCP connection should give a raw connection")
	}
	t.Cleanup(func() { a.Close(); client.Close() })
	return a, client
}

// A deadline armed on the socket that is earlier than the one asked for
// last must not end a wait: the past deadline below fails the read at
// once on the socket, and the read waits on under the later one.
func TestLazyDeadlineLaterOneWins(t *testing.T) {
	for _, later := range []time.Time{time.Now().Add(time.Minute), {}} {
		a, client := awaitPair(t)
		a.SetReadDeadline(time.Unix(1, 0)) // armed: earlier than anything
		a.SetReadDeadline(later)           // lazy: the socket keeps the past one
		go client.Write([]byte("x"))
		p := make([]byte, 1)
		if n, err := a.Read(p); n != 1 || err != nil {
			t.Fatalf("read under deadline %v: %d bytes, %v; want the byte", later, n, err)
		}
		// The same on the await path: an answer held back goes out once,
		// then the next request is read.
		if _, err := a.Write([]byte("answer")); err != nil {
			t.Fatal(err)
		}
		a.SetReadDeadline(time.Unix(1, 0))
		a.SetReadDeadline(later)
		got := make(chan string, 1)
		go func() {
			b := make([]byte, len("answer"))
			io.ReadFull(client, b)
			got <- string(b)
			client.Write([]byte("y"))
		}()
		if n, err := a.Read(p); n != 1 || err != nil || p[0] != 'y' {
			t.Fatalf("await read under deadline %v: %d bytes %q, %v; want y", later, n, p[:n], err)
		}
		if s := <-got; s != "answer" {
			t.Fatalf("the client got %q, want the answer once", s)
		}
		a.SetWriteDeadline(time.Unix(1, 0))
		a.SetWriteDeadline(later)
		if n, err := a.write([]byte("z")); n != 1 || err != nil {
			t.Fatalf("write under deadline %v: %d, %v", later, n, err)
		}
	}
}

// An earlier deadline is armed at once, and one that has passed ends the
// wait with the usual timeout.
func TestLazyDeadlineEarlierOneCuts(t *testing.T) {
	a, _ := awaitPair(t)
	a.SetReadDeadline(time.Now().Add(time.Minute))
	a.SetReadDeadline(time.Unix(1, 0))
	if _, err := a.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past its deadline: %v, want a timeout", err)
	}
	if _, err := a.Write([]byte("answer")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("await read past its deadline: %v, want a timeout", err)
	}
	a.SetWriteDeadline(time.Now().Add(time.Minute))
	a.SetWriteDeadline(time.Unix(1, 0))
	if _, err := a.write([]byte("z")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write past its deadline: %v, want a timeout", err)
	}
}
