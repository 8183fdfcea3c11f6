package loadgen

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawServer answers each request on a connection with the next canned
// response, byte for byte, so the client meets exactly what a server may
// send: chunks, interim answers, missing lengths, garbage. An answer ending
// in <close> is followed by closing the connection, one ending in <reset>
// by resetting it.
func rawServer(t *testing.T, answers ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for _, a := range answers {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					a, closeAfter := strings.CutSuffix(a, "<close>")
					a, resetAfter := strings.CutSuffix(a, "<reset>")
					if resetAfter {
						c.(*net.TCPConn).SetLinger(0) // Close sends RST
					}
					if _, err := io.WriteString(c, a); err != nil || closeAfter || resetAfter {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func exchangeAll(t *testing.T, addr string, n int) ([]response, []error) {
	t.Helper()
	d := dialer{network: "tcp", addr: addr, timeout: 5 * time.Second}
	c, err := d.dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	c.nc.SetDeadline(time.Now().Add(5 * time.Second))
	req := []byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
	var resps []response
	var errs []error
	for i := 0; i < n; i++ {
		var r response
		err := c.send(req)
		if err == nil {
			err = c.readResponse(&r)
		}
		resps, errs = append(resps, r), append(errs, err)
		if err != nil {
			break
		}
	}
	return resps, errs
}

func TestReadResponse(t *testing.T) {
	tests := []struct {
		name    string
		answers []string
		status  []int
		close   []bool
		bytes   []int64
	}{
		{"content-length, keep-alive", []string{
			"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
			"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n",
		}, []int{200, 503}, []bool{false, false}, []int64{43, 55}},
		{"chunked with trailers", []string{
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n",
		}, []int{200}, []bool{false}, nil},
		{"interim 100 and 103 are skipped", []string{
			"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
		}, []int{201}, []bool{false}, nil},
		{"no body for 204 and 304", []string{
			"HTTP/1.1 204 No Content\r\n\r\n", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
		}, []int{204, 304}, []bool{false, false}, nil},
		{"Connection: close", []string{"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"}, []int{200}, []bool{true}, nil},
		{"HTTP/1.0 closes unless keep-alive", []string{
			"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
		}, []int{200, 200}, []bool{false, true}, nil},
		{"no length: body runs to the close", []string{"HTTP/1.1 200 OK\r\n\r\nuntil the end"}, []int{200}, []bool{true}, []int64{32}},
		{"large header and body", []string{"HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", 30000) + "\r\nContent-Length: 100000\r\n\r\n" + strings.Repeat("b", 100000)},
			[]int{200}, []bool{false}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resps, errs := exchangeAll(t, rawServer(t, tt.answers...), len(tt.status))
			for i, want := range tt.status {
				if errs[i] != nil {
					t.Fatalf("answer %d: %v", i+1, errs[i])
				}
				if resps[i].status != want || resps[i].close != tt.close[i] {
					t.Errorf("answer %d: status %d close %v, want %d %v", i+1, resps[i].status, resps[i].close, want, tt.close[i])
				}
				if tt.bytes != nil && resps[i].bytes != tt.bytes[i] {
					t.Errorf("answer %d: %d bytes read, want %d", i+1, resps[i].bytes, tt.bytes[i])
				}
			}
		})
	}
}

func TestReadResponseErrors(t *testing.T) {
	tests := []struct {
		name   string
		answer string
		kind   errKind
	}{
		{"not HTTP", "SSH-2.0-OpenSSH\r\n\r\n", errProtocol},
		{"bad status", "HTTP/1.1 2x0 OK\r\n\r\n", errProtocol},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", errProtocol},
		{"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", errProtocol},
		{"header line without colon", "HTTP/1.1 200 OK\r\nnonsense\r\n\r\n", errProtocol},
		{"header too large", "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", 70000) + "\r\n\r\n", errProtocol},
		{"body cut short", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort<close>", errEOF},
		{"header cut short", "HTTP/1.1 200 OK\r\nContent-Le<close>", errEOF},
		{"closed without answering", "<close>", errEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := exchangeAll(t, rawServer(t, tt.answer), 1)
			err := errs[len(errs)-1]
			if err == nil {
				t.Fatal("no error")
			}
			if got := classify(err, false); got != tt.kind {
				t.Errorf("error %v classified %q, want %q", err, got, tt.kind)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	d := dialer{network: "tcp", addr: "127.0.0.1:1", timeout: time.Second}
	_, err := d.dial(context.Background())
	if got := classify(err, false); got != errRefused {
		t.Errorf("dialling a closed port: %v classified %q, want refused", err, got)
	}
	if got := classify(errors.New("x"), true); got != errCanceled {
		t.Errorf("an error while stopping is %q, want canceled", got)
	}
	if got := classify(context.DeadlineExceeded, false); got != errTimeout {
		t.Errorf("deadline: %q", got)
	}
}

func BenchmarkReadResponse(b *testing.B) {
	answer := []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Mon, 02 Jan 2026 15:04:05 GMT\r\nContent-Length: 11\r\n\r\n{\"ok\":true}")
	c := &conn{buf: make([]byte, readBufSize), io: &replay{answer: answer}}
	var r response
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := c.readResponse(&r); err != nil {
			b.Fatal(err)
		}
	}
}

// replay serves the same answer on every read.
type replay struct{ answer []byte }

func (r *replay) Read(p []byte) (int, error)  { return copy(p, r.answer), nil }
func (r *replay) Write(p []byte) (int, error) { return len(p), nil }
