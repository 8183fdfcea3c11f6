package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type thing struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func TestDecodeJSONErrors(t *testing.T) {
	cases := []struct {
		body   string
		limit  int64
		status int
		want   string
	}{
		{`{"name":"a","count":1}`, 100, 0, ""},
		{``, 100, 400, "empty body"},
		{`{"name":"a",`, 100, 400, "unexpected end"},
		{"{\n\"name\": \"a\"\n,,}", 100, 400, "line 3, column 2"},
		{`{"name":"a","count":"x"}`, 100, 400, "field count: got JSON string, expected int"},
		{`{"nmae":"a"}`, 100, 400, `unknown field "nmae"`},
		{`{"name":"a"} {}`, 100, 400, "unexpected data"},
		{`{"name":"` + strings.Repeat("a", 200) + `"}`, 100, 413, "over the limit"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("POST", "/", strings.NewReader(c.body))
		w := httptest.NewRecorder()
		var v thing
		err := DecodeJSON(w, r, c.limit, &v)
		if c.status == 0 {
			if err != nil {
				t.Errorf("%q: unexpected %v", c.body, err)
			}
			continue
		}
		if err == nil || StatusOf(err) != c.status || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v (status %d), want %d containing %q", c.body, err, StatusOf(err), c.status, c.want)
		}
	}
	// Chunked bodies (no Content-Length) hit the limit while reading.
	r := httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("x", 200)))
	r.ContentLength = -1
	if _, err := ReadBody(httptest.NewRecorder(), r, 100); StatusOf(err) != 413 {
		t.Errorf("chunked over-limit body: %v", err)
	}
}

func TestWriteError(t *testing.T) {
	w := httptest.NewRecorder()
	WriteError(w, Errorf(http.StatusConflict, "endpoint %s exists", "ep_1"))
	var body ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != 409 || body.Error != "endpoint ep_1 exists" {
		t.Fatalf("got %d %q (%v)", w.Code, w.Body.String(), err)
	}
	if StatusOf(context.Canceled) != 500 {
		t.Fatal("a plain error should map to 500")
	}
}

func TestListenDefaultsToLoopback(t *testing.T) {
	for _, addr := range []string{"", ":0", "127.0.0.1:0"} {
		ln, err := Listen(addr)
		if err != nil {
			t.Fatal(err)
		}
		host := ln.Addr().(interface{ String() string }).String()
		ln.Close()
		if !strings.HasPrefix(host, "127.0.0.1:") {
			t.Errorf("Listen(%q) bound %s", addr, host)
		}
	}
	if _, err := Listen("nonsense"); err == nil || !strings.Contains(err.Error(), "host:port") {
		t.Errorf("Listen(nonsense) = %v", err)
	}
}

func TestServeShutsDownGracefully(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	release := make(chan struct{})
	srv := NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		w.Write([]byte("done"))
	}))
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, srv, ln, 5*time.Second) }()
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String())
		if err != nil {
			got <- err.Error()
			return
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 16)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])
		got <- b.String()
	}()
	<-started
	cancel() // shutdown begins while a request is in flight
	close(release)
	if s := <-got; s != "done" {
		t.Fatalf("in-flight request got %q, want done", s)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}

// serveForTest serves h on loopback until the test ends.
func serveForTest(t *testing.T, h http.Handler, opts ...ServerOption) string {
	t.Helper()
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, NewServer(h, opts...), ln, time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Error(err)
		}
	})
	return ln.Addr().String()
}

// A client that sends part of its body and stalls is answered 408 and
// loses the connection once the read timeout passes.
func TestStalledBodyIsCutOff(t *testing.T) {
	handlerErr := make(chan error, 1)
	addr := serveForTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := ReadBody(w, r, 1<<20)
		handlerErr <- err
		if err != nil {
			WriteError(w, err)
		}
	}), WithReadTimeout(200*time.Millisecond))
	c := dialAndSend(t, addr, "POST /events HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"events\":[1,")
	// Then nothing more. The deadline only bounds the test if the server
	// never cuts the client off.
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer to the stalled request: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(body), "13 bytes read before the server's read timeout") {
		t.Errorf("answer %d %s, want 408 saying how much arrived", resp.StatusCode, body)
	}
	if err := <-handlerErr; StatusOf(err) != http.StatusRequestTimeout {
		t.Errorf("ReadBody returned %v, want a 408 *Error", err)
	}
	if n, err := br.ReadByte(); err != io.EOF {
		t.Errorf("the connection is still open after the answer (read %v, %v)", n, err)
	}
}

// The read timeout bounds reading the request, not the handler: once the
// body is read, a handler that takes longer (a receiver processing before
// it acknowledges) keeps its context and answers.
func TestReadTimeoutSparesSlowHandlers(t *testing.T) {
	const timeout = 100 * time.Millisecond
	addr := serveForTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := ReadBody(w, r, 1<<20); err != nil {
			WriteError(w, err)
			return
		}
		select {
		case <-time.After(3 * timeout): // the slow work under test
			w.Write([]byte("processed"))
		case <-r.Context().Done():
			t.Error("the request's context ended while the handler worked")
		}
	}), WithReadTimeout(timeout))
	resp, err := http.Post("http://"+addr+"/hook", "application/json", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || string(b) != "processed" {
		t.Errorf("answer %d %q, want 200 processed", resp.StatusCode, b)
	}
}

func TestNewServerDefaults(t *testing.T) {
	s := NewServer(http.NotFoundHandler())
	if s.ReadTimeout != DefaultReadTimeout || s.ReadHeaderTimeout == 0 || s.IdleTimeout != DefaultIdleTimeout ||
		s.WriteTimeout != DefaultWriteTimeout || s.MaxHeaderBytes != DefaultMaxHeaderBytes {
		t.Errorf("limits: read %v header %v idle %v write %v header bytes %d", s.ReadTimeout, s.ReadHeaderTimeout, s.IdleTimeout, s.WriteTimeout, s.MaxHeaderBytes)
	}
	// A shorter read timeout shortens the write timeout with it.
	if s := NewServer(http.NotFoundHandler(), WithReadTimeout(time.Second)); s.WriteTimeout != time.Second+writeSlack {
		t.Errorf("write timeout %v after WithReadTimeout(1s)", s.WriteTimeout)
	}
}
