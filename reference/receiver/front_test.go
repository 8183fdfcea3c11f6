package receiver

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/internal/httpapi"
	"github.com/hookrig/hookrig/reference/webhook"
)

// rawAnswer is what a raw request got back on one front.
type rawAnswer struct {
	Status                           int
	Body                             string
	ContentType, RetryAfter, Allow   string
	Continued, ClosedAfter, KeptOpen bool
}

// TestFrontsAnswerAlike sends the same raw requests to the net/http front
// (Handler) and the fasthttp one (Server), each over its own receiver, and
// wants the same answers, the same connection handling and the same
// counters: the HTTP front changes nothing the receiver decides.
func TestFrontsAnswerAlike(t *testing.T) {
	sign, err := webhook.NewSigner(secretA)
	if err != nil {
		t.Fatal(err)
	}
	// signed renders a signed POST with its header names in lower case
	// (lookups must not care), extra header lines and a body framed as
	// told: "length" or "chunked".
	signed := func(path, id, body, framing, extra string) string {
		h := http.Header{}
		sign.SetHeaders(h, id, t0, []byte(body))
		var b strings.Builder
		fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: x\r\n", path)
		for k, vs := range h {
			fmt.Fprintf(&b, "%s: %s\r\n", strings.ToLower(k), vs[0])
		}
		b.WriteString(extra)
		if framing == "chunked" {
			fmt.Fprintf(&b, "Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(body), body)
		} else {
			fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
		}
		return b.String()
	}
	big := `{"pad":"` + strings.Repeat("x", 300) + `"}`
	// words: the answer's text comes from the HTTP parser, which words its
	// errors its own way; the status, the headers and what happens to the
	// connection must still agree.
	cases := []struct {
		name, raw string
		words     bool
	}{
		{"fresh", signed("/hooks", "msg_1", `{"a":1}`, "length", ""), false},
		{"duplicate", signed("/hooks", "msg_1", `{"a":1}`, "length", ""), false},
		{"chunked", signed("/hooks", "msg_2", `{"a":2}`, "chunked", ""), false},
		{"expect 100-continue", signed("/hooks", "msg_3", `{"a":3}`, "length", "Expect: 100-continue\r\n"), false},
		{"connection close", signed("/hooks", "msg_4", `{"a":4}`, "length", "Connection: close\r\n"), false},
		{"webhook posted to /metrics", signed("/metrics", "msg_5", `{"a":5}`, "length", ""), false},
		{"bad signature", strings.Replace(signed("/hooks", "msg_6", `{"a":6}`, "length", ""), `{"a":6}`, `{"a":7}`, 1), false},
		{"not JSON", signed("/hooks", "msg_7", `{"a":`, "length", ""), false},
		{"too large, by its length", signed("/hooks", "msg_8", big, "length", ""), false},
		{"too large, chunked", signed("/hooks", "msg_9", big, "chunked", ""), false},
		{"bad chunking", strings.Replace(signed("/hooks", "msg_10", `{"a":10}`, "chunked", ""), "\r\n0\r\n", "\r\nzz\r\n", 1), true},
		{"GET a webhook path", "GET /hooks HTTP/1.1\r\nHost: x\r\n\r\n", false},
		{"health", "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n", false},
		{"stats, no such API", "GET /v1/nope HTTP/1.1\r\nHost: x\r\n\r\n", false},
		{"HTTP/1.0", "GET /v1/health HTTP/1.0\r\n\r\n", false},
		{"headers over the limit", "GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Pad: " + strings.Repeat("p", 80<<10) + "\r\n\r\n", true},
	}
	fronts := map[string]func(*Receiver) string{
		"net/http": func(r *Receiver) string {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := httpapi.NewServer(r.Handler()) // the limits cmd/hookrig served with
			go srv.Serve(ln)
			t.Cleanup(func() { srv.Close() })
			return ln.Addr().String()
		},
		"fasthttp": func(r *Receiver) string { return strings.TrimPrefix(serveFast(t, r).URL, "http://") },
	}
	got := map[string][]rawAnswer{}
	stats := map[string]Stats{}
	for name, serve := range fronts {
		r, err := New(Config{Secrets: []string{secretA}, Clock: clock.NewFake(t0), MaxBody: 256})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		addr := serve(r)
		for _, c := range cases {
			got[name] = append(got[name], rawExchange(t, addr, c.raw))
		}
		stats[name] = r.Stats()
	}
	for i, c := range cases {
		a, b := got["net/http"][i], got["fasthttp"][i]
		if c.words {
			a.Body, b.Body, a.ContentType, b.ContentType = "", "", "", ""
		}
		if a != b {
			t.Errorf("%s:\n net/http %+v\n fasthttp %+v", c.name, a, b)
		}
	}
	if a, b := stats["net/http"], stats["fasthttp"]; !reflect.DeepEqual(a, b) {
		t.Errorf("stats differ:\n net/http %+v\n fasthttp %+v", a, b)
	}
	if s := stats["fasthttp"]; s.Unique != 5 || s.Duplicates != 1 || s.RejectedBy.TooLarge != 2 || s.RejectedBy.Unreadable != 1 {
		t.Errorf("stats %+v: want 5 unique, 1 duplicate, 2 too large, 1 unreadable", s)
	}
}

// rawExchange writes raw on a new connection and reads the answer (after a
// 100 Continue, if one comes); then it tells whether the server closed the
// connection or still answers a second request on it.
func rawExchange(t *testing.T, addr, raw string) rawAnswer {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second)) // a hang fails the test, never blocks it
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var a rawAnswer
	resp, err := http.ReadResponse(br, nil)
	if err == nil && resp.StatusCode == http.StatusContinue {
		a.Continued = true
		resp, err = http.ReadResponse(br, nil)
	}
	if err != nil {
		t.Fatalf("reading the answer to %q: %v", raw, err)
	}
	body, _ := io.ReadAll(resp.Body)
	a.Status, a.Body = resp.StatusCode, string(body)
	a.ContentType, a.RetryAfter, a.Allow = resp.Header.Get("Content-Type"), resp.Header.Get("Retry-After"), resp.Header.Get("Allow")
	// Then either the server closes, or a second request is answered.
	if _, err := io.WriteString(c, "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		a.ClosedAfter = true
		return a
	}
	if resp, err := http.ReadResponse(br, nil); err == nil {
		resp.Body.Close()
		a.KeptOpen = resp.StatusCode == http.StatusOK
	} else if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err) {
		a.ClosedAfter = true
	} else {
		t.Fatalf("after %q: %v", raw, err)
	}
	return a
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && bytes.Contains([]byte(op.Err.Error()), []byte("reset"))
}
