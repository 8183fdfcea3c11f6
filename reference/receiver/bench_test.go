package receiver

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/reference/webhook"
)

// benchBody is a typical small event.
var benchBody = []byte(`{"type":"invoice.paid","data":{"id":"in_1NqK2b","amount":4200,"currency":"eur","customer":"cus_9s6XKzkNRiz8i3"}}`)

const benchIDs = 1 << 14

// benchReceiver is a receiver with a journal on a fake clock and the
// webhooks to send it: their ids cycle through a dedupe window smaller than
// the set, so every one is unique (and evictions run).
func benchReceiver(b *testing.B) ([]http.Header, *Receiver) {
	hs := signedSet(b, benchIDs, t0)
	r, err := New(Config{Secrets: []string{secretA}, Clock: clock.NewFake(t0),
		JournalPath: filepath.Join(b.TempDir(), "r.jsonl"), Dedupe: DedupeConfig{MaxEntries: benchIDs / 2}})
	if err != nil {
		b.Fatal(err)
	}
	return hs, r
}

// signedSet pre-signs n distinct webhooks at time at.
func signedSet(b *testing.B, n int, at time.Time) []http.Header {
	s, err := webhook.NewSigner(secretA)
	if err != nil {
		b.Fatal(err)
	}
	hs := make([]http.Header, n)
	for i := range hs {
		h := http.Header{}
		s.SetHeaders(h, "msg_"+strconv.Itoa(i), at, benchBody)
		h.Set(webhook.HeaderAttempt, "1")
		h.Set("Content-Type", "application/json")
		hs[i] = h
	}
	return hs
}

// discardWriter is the cheapest ResponseWriter, so the benchmark measures
// the receiver, not a recorder.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(s int)           { w.status = s }
func (w *discardWriter) Flush()                      {}

// BenchmarkHandler measures one verified, unique webhook through the
// handler, journal on: verify, JSON check, dedupe (with evictions, since
// the ids cycle through a window smaller than the set), journal line.
func BenchmarkHandler(b *testing.B) {
	hs, r := benchReceiver(b)
	defer r.Close()
	h := r.Handler()
	req := httptest.NewRequest("POST", "/webhooks", nil)
	w := &discardWriter{h: http.Header{}}
	rd := bytes.NewReader(benchBody)
	b.SetBytes(int64(len(benchBody)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		rd.Reset(benchBody)
		req.Body = io.NopCloser(rd)
		req.ContentLength = int64(len(benchBody))
		req.Header = hs[i%benchIDs]
		clear(w.h)
		h.ServeHTTP(w, req)
		if w.status != 200 {
			b.Fatalf("status %d", w.status)
		}
	}
	b.StopTimer()
	if s := r.Stats(); s.Duplicates != 0 {
		b.Fatalf("%d duplicates: the benchmark should measure unique webhooks", s.Duplicates)
	}
}

// BenchmarkHTTP is the same over a real loopback server with keep-alive
// clients in parallel: what a sender sees, net/http included.
func BenchmarkHTTP(b *testing.B) {
	hs, r := benchReceiver(b)
	defer r.Close()
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var next atomic.Uint64
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			req, _ := http.NewRequest("POST", srv.URL+"/webhooks", bytes.NewReader(benchBody))
			req.Header = hs[i%benchIDs].Clone()
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkWire measures one verified, unique webhook over a real loopback
// connection on each HTTP front (net/http's Handler, fasthttp's Server),
// driven by raw keep-alive clients that write pre-rendered requests and
// read the answers, so that the profile holds the server, not a client
// library: what the front costs beside the handler's steps.
func BenchmarkWire(b *testing.B) {
	for _, front := range []string{"nethttp", "fasthttp-plain", "fasthttp"} {
		b.Run(front, func(b *testing.B) {
			hs, r := benchReceiver(b)
			defer r.Close()
			reqs := make([][]byte, len(hs))
			for i, h := range hs {
				var buf bytes.Buffer
				buf.WriteString("POST /webhooks HTTP/1.1\r\nHost: bench\r\nContent-Length: " + strconv.Itoa(len(benchBody)) + "\r\n")
				h.Write(&buf)
				buf.WriteString("\r\n")
				buf.Write(benchBody)
				reqs[i] = buf.Bytes()
			}
			var addr string
			switch front {
			case "nethttp":
				srv := httptest.NewServer(r.Handler())
				defer srv.Close()
				addr = srv.Listener.Addr().String()
			case "fasthttp-plain":
				addr = strings.TrimPrefix(serveFastWith(b, r, ServerConfig{plainConns: true}).URL, "http://")
			default:
				addr = strings.TrimPrefix(serveFast(b, r).URL, "http://")
			}
			var next atomic.Uint64
			b.SetParallelism(4)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					b.Error(err)
					return
				}
				defer c.Close()
				br := bufio.NewReader(c)
				for pb.Next() {
					if _, err := c.Write(reqs[next.Add(1)%benchIDs]); err != nil {
						b.Error(err)
						return
					}
					resp, err := http.ReadResponse(br, nil)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}
