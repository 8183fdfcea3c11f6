package httpapi

import (
	"context"
	"encoding/json"
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
