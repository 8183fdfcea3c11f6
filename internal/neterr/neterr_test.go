package neterr

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// Real failures on loopback get their words.
func TestClassifyRealFailures(t *testing.T) {
	// A port nobody listens on: listen, note it, close.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	_, err = net.DialTimeout("tcp", closed, time.Second)
	if got := Classify(err); got != Refused {
		t.Errorf("dialling a closed port: %v is %q, want refused", err, got)
	}

	// A server that accepts, writes a line that is no TLS record, and
	// hangs up.
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
			c.Close()
		}
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err == nil {
		c.Close()
	}
	if got := Classify(err); got != TLS {
		t.Errorf("TLS to a plain server: %v is %q, want tls", err, got)
	}
	pc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	_, err = io.ReadFull(pc, make([]byte, 1<<10))
	if got := Classify(err); got != EOF {
		t.Errorf("a short answer: %v is %q, want eof", err, got)
	}

	// A read past its deadline.
	pc2, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer pc2.Close()
	pc2.SetReadDeadline(time.Unix(1, 0))
	_, err = pc2.Read(make([]byte, 1))
	if got := Classify(err); got != Timeout {
		t.Errorf("a read past its deadline: %v is %q, want timeout", err, got)
	}
}

func TestClassifyWrappedAndOther(t *testing.T) {
	for err, want := range map[error]Kind{
		nil:                                      None,
		fmt.Errorf("post: %w", context.Canceled): Canceled,
		context.DeadlineExceeded:                 Timeout,
		fmt.Errorf("read: %w", syscall.ECONNRESET):         Reset,
		fmt.Errorf("write: %w", syscall.EPIPE):             Reset,
		io.ErrUnexpectedEOF:                                EOF,
		errors.New("read tcp: connection reset by peer"):   Reset,
		errors.New("http: server closed idle connection"):  EOF,
		errors.New("lookup nowhere.invalid: no such host"): Other,
	} {
		if got := Classify(err); got != want {
			t.Errorf("Classify(%v) = %q, want %q", err, got, want)
		}
	}
}
