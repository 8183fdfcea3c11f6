package chaos

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hookrig/hookrig/chaos/fault"
	"github.com/hookrig/hookrig/internal/clock"
)

// wait bounds every channel receive in these tests: generous, because the
// machine is shared; never a speed assertion.
const wait = 10 * time.Second

type hit struct {
	N                  int
	Method, Path, Host string
	ID, Body           string
	Header             http.Header
}

// startUpstream runs a real HTTP server that reports every request it
// gets; answer (nil: 200 "ok") writes the response to the n-th request.
func startUpstream(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, n int)) (*httptest.Server, chan hit) {
	t.Helper()
	hits := make(chan hit, 100)
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		k := int(n.Add(1))
		hits <- hit{N: k, Method: r.Method, Path: r.URL.RequestURI(), Host: r.Host, ID: r.Header.Get("webhook-id"), Body: string(b), Header: r.Header}
		if answer == nil {
			w.Write([]byte("ok"))
			return
		}
		answer(w, r, k)
	}))
	t.Cleanup(srv.Close)
	return srv, hits
}

type testProxy struct {
	*Proxy
	records chan AttemptRecord
	client  *http.Client
}

// mustRules compiles a rule file the test wrote.
func mustRules(t testing.TB, src string) *fault.Rules {
	t.Helper()
	specs, err := fault.ParseRules([]byte(src), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := fault.Compile(specs)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func startProxy(t *testing.T, upstreamURL, rules string, cfg Config) *testProxy {
	t.Helper()
	tp := &testProxy{records: make(chan AttemptRecord, 1000)}
	cfg.Upstream = upstreamURL
	if rules != "" {
		cfg.Rules = mustRules(t, rules)
	}
	cfg.OnAttempt = func(r AttemptRecord) { tp.records <- r }
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	tp.Proxy = p
	tr := &http.Transport{}
	tp.client = &http.Client{Transport: tr, Timeout: wait}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		p.Close()
	})
	return tp
}

func (tp *testProxy) record(t *testing.T) AttemptRecord {
	t.Helper()
	select {
	case r := <-tp.records:
		return r
	case <-time.After(wait):
		t.Fatal("no attempt record")
	}
	return AttemptRecord{}
}

func (tp *testProxy) post(t *testing.T, path string, h map[string]string, body string) (*http.Response, string, error) {
	t.Helper()
	req, _ := http.NewRequest("POST", tp.URL()+path, strings.NewReader(body))
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := tp.client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

func noHit(t *testing.T, hits chan hit) {
	t.Helper()
	select {
	case h := <-hits:
		t.Fatalf("the upstream got %+v, want nothing", h)
	default:
	}
}

func getHit(t *testing.T, hits chan hit) hit {
	t.Helper()
	select {
	case h := <-hits:
		return h
	case <-time.After(wait):
		t.Fatal("the upstream got nothing")
	}
	return hit{}
}

// rawExchange sends a request on a fresh TCP connection and reads until
// the proxy stops: what a client really sees.
func rawExchange(t *testing.T, addr, path string) ([]byte, error) {
	t.Helper()
	return rawSend(t, addr, fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}", path))
}

// rawSend writes msg on a fresh connection and reads until the proxy
// closes it.
func rawSend(t *testing.T, addr, msg string) ([]byte, error) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	io.WriteString(c, msg)
	return io.ReadAll(c)
}

func TestPassThroughIsFaithfulAndRecorded(t *testing.T) {
	up, hits := startUpstream(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("X-Upstream", "yes")
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte("accepted"))
	})
	tp := startProxy(t, up.URL+"/base", "", Config{})
	resp, body, err := tp.post(t, "/hooks/a?x=1", map[string]string{"webhook-id": "evt_1", "webhook-attempt": "2", "Connection": "close"}, `{"a":1}`)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 202 || body != "accepted" || resp.Header.Get("X-Upstream") != "yes" {
		t.Errorf("client got %d %q %v", resp.StatusCode, body, resp.Header)
	}
	h := getHit(t, hits)
	if h.Method != "POST" || h.Path != "/base/hooks/a?x=1" || h.Body != `{"a":1}` || h.ID != "evt_1" || h.Host != strings.TrimPrefix(up.URL, "http://") {
		t.Errorf("upstream got %+v", h)
	}
	rec := tp.record(t)
	if rec.EventID != "evt_1" || rec.Attempt != 2 || rec.Path != "/hooks/a" || rec.Forwarded != 1 || rec.UpstreamStatus != 202 || rec.ClientStatus != 202 || rec.Rule != "" || rec.Seq != 1 || rec.Request != 1 {
		t.Errorf("record %+v", rec)
	}
	if s := tp.Stats(); s.Requests != 1 || s.Forwarded != 1 || s.Outcomes["202"] != 1 {
		t.Errorf("stats %+v", s)
	}
}

// Requests the proxy cannot read are answered and recorded too.
func TestUnreadableRequestsAreRecorded(t *testing.T) {
	up, hits := startUpstream(t, nil)
	tp := startProxy(t, up.URL, "", Config{MaxBody: 10})
	resp, body, err := tp.post(t, "/big", map[string]string{"webhook-id": "evt_big", "webhook-attempt": "1"}, strings.Repeat("x", 100))
	if err != nil || resp.StatusCode != 413 || !strings.Contains(body, "over the limit of 10 bytes") {
		t.Fatalf("got %v %q %v", resp, body, err)
	}
	rec := tp.record(t)
	if rec.ClientStatus != 413 || rec.Forwarded != 0 || rec.EventID != "evt_big" || rec.Attempt != 1 || rec.Path != "/big" {
		t.Errorf("record %+v", rec)
	}
	noHit(t, hits)
	out, err := rawExchange(t, tp.Addr(), "/ bad path")
	if err != nil || !strings.HasPrefix(string(out), "HTTP/1.1 400") {
		t.Errorf("malformed request: %q %v", out, err)
	}
	if rec := tp.record(t); rec.ClientStatus != 400 {
		t.Errorf("record %+v", rec)
	}
}

func TestUpstreamDownIs502WithRecord(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close()
	tp := startProxy(t, dead, "", Config{})
	resp, body, err := tp.post(t, "/", nil, "{}")
	if err != nil || resp.StatusCode != 502 || !strings.Contains(body, "refused") {
		t.Fatalf("got %v %q %v", resp, body, err)
	}
	if rec := tp.record(t); rec.UpstreamErr != "refused" || rec.UpstreamStatus != 0 || rec.ClientStatus != 502 {
		t.Errorf("record %+v", rec)
	}
}

func TestStatusFaultAtTheWire(t *testing.T) {
	up, hits := startUpstream(t, nil)
	tp := startProxy(t, up.URL, `
rules:
  - name: slow-down
    match: path == "/limited"
    fault: {type: status, code: 429, headers: {Retry-After: 7}, body: "too many"}
`, Config{})
	resp, body, err := tp.post(t, "/limited", nil, "{}")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "7" || body != "too many" {
		t.Errorf("client got %d Retry-After=%q %q", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	rec := tp.record(t)
	noHit(t, hits)
	if rec.Rule != "slow-down" || rec.Fault != "status" || rec.Forwarded != 0 || rec.ClientStatus != 429 {
		t.Errorf("record %+v", rec)
	}
	// Other paths pass.
	if resp, _, err := tp.post(t, "/other", nil, "{}"); err != nil || resp.StatusCode != 200 {
		t.Errorf("/other: %v %v", resp, err)
	}
	getHit(t, hits)
}

func TestResetAtTheWire(t *testing.T) {
	up, hits := startUpstream(t, nil)
	tp := startProxy(t, up.URL, `
rules:
  - {name: rst, match: 'path == "/before"', fault: {type: reset}}
  - {name: rst-after, match: 'path == "/after"', fault: {type: reset, when: after}}
`, Config{})
	_, err := rawExchange(t, tp.Addr(), "/before")
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("client read %v, want ECONNRESET", err)
	}
	if rec := tp.record(t); rec.ClientErr != "reset" || rec.Forwarded != 0 {
		t.Errorf("record %+v", rec)
	}
	noHit(t, hits)

	// An HTTP client sees the reset as an error, and after forwarding the
	// upstream did get the request.
	_, _, err = tp.post(t, "/after", nil, "{}")
	if err == nil || !errors.Is(err, syscall.ECONNRESET) && !strings.Contains(err.Error(), "reset") && !strings.Contains(err.Error(), "EOF") {
		t.Fatalf("http client got %v, want a reset", err)
	}
	getHit(t, hits)
	if rec := tp.record(t); rec.ClientErr != "reset" || rec.UpstreamStatus != 200 {
		t.Errorf("record %+v", rec)
	}
}

func TestTruncateAtTheWire(t *testing.T) {
	body := strings.Repeat("0123456789", 10)
	up, _ := startUpstream(t, func(w http.ResponseWriter, r *http.Request, n int) { w.Write([]byte(body)) })
	tp := startProxy(t, up.URL, "rules:\n  - {name: cut, fault: {type: truncate, bytes: 25}}\n", Config{})
	resp, got, err := tp.post(t, "/", nil, "{}")
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("client got %v, want an unexpected EOF", err)
	}
	if resp.StatusCode != 200 || resp.ContentLength != 100 || got != body[:25] {
		t.Errorf("client got %d, length %d, %q", resp.StatusCode, resp.ContentLength, got)
	}
	if rec := tp.record(t); rec.ClientErr != "truncated" || rec.ClientStatus != 200 || rec.UpstreamStatus != 200 {
		t.Errorf("record %+v", rec)
	}
	// Asking for more than the body still never sends it all.
	tp.SetRules(mustRules(t, "rules:\n  - {name: cut, fault: {type: truncate, bytes: 5000}}\n"))
	if _, got, err := tp.post(t, "/", nil, "{}"); !errors.Is(err, io.ErrUnexpectedEOF) || got != body[:99] {
		t.Errorf("got %d bytes, %v", len(got), err)
	}
}

func TestAckLostReachesTheUpstream(t *testing.T) {
	up, hits := startUpstream(t, nil)
	tp := startProxy(t, up.URL, `
rules:
  - {name: lost, match: 'header("x-mode") == "status"', fault: {type: ack_lost}}
  - {name: lost-rst, match: 'header("x-mode") == "reset"', fault: {type: ack_lost, answer: reset}}
`, Config{})
	resp, _, err := tp.post(t, "/", map[string]string{"x-mode": "status", "webhook-id": "evt_9"}, "{}")
	if err != nil || resp.StatusCode != 502 {
		t.Fatalf("client got %v %v, want 502", resp, err)
	}
	if h := getHit(t, hits); h.ID != "evt_9" {
		t.Errorf("upstream got %+v", h)
	}
	if rec := tp.record(t); rec.UpstreamStatus != 200 || rec.ClientStatus != 502 || rec.Fault != "ack_lost" {
		t.Errorf("record %+v", rec)
	}
	if _, _, err := tp.post(t, "/", map[string]string{"x-mode": "reset"}, "{}"); err == nil {
		t.Fatal("client got an answer, want a reset")
	}
	getHit(t, hits)
	if rec := tp.record(t); rec.UpstreamStatus != 200 || rec.ClientErr != "reset" {
		t.Errorf("record %+v", rec)
	}
}

func TestDuplicateReachesTheUpstreamTwice(t *testing.T) {
	up, hits := startUpstream(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n > 1 {
			w.WriteHeader(http.StatusConflict) // a receiver that dedupes
		}
		fmt.Fprintf(w, "copy %d", n)
	})
	tp := startProxy(t, up.URL, "rules:\n  - {name: twice, fault: {type: duplicate, copies: 3}}\n", Config{})
	resp, body, err := tp.post(t, "/", map[string]string{"webhook-id": "evt_d"}, `{"n":1}`)
	if err != nil || resp.StatusCode != 200 || body != "copy 1" {
		t.Fatalf("client got %v %q %v, want the first copy's answer", resp, body, err)
	}
	for i := range 3 {
		if h := getHit(t, hits); h.ID != "evt_d" || h.Body != `{"n":1}` {
			t.Errorf("copy %d: %+v", i+1, h)
		}
	}
	rec := tp.record(t)
	if rec.Forwarded != 3 || fmt.Sprint(rec.UpstreamStatuses) != "[200 409 409]" || rec.ClientStatus != 200 {
		t.Errorf("record %+v", rec)
	}
	// When each copy's answer came back, in order.
	if len(rec.UpstreamAts) != 3 || !rec.UpstreamAts[0].Equal(rec.UpstreamAt) || rec.UpstreamAt.Before(rec.At) ||
		rec.UpstreamAts[2].Before(rec.UpstreamAts[1]) || rec.UpstreamAts[1].Before(rec.UpstreamAts[0]) {
		t.Errorf("answer times %v (first %v, request at %v)", rec.UpstreamAts, rec.UpstreamAt, rec.At)
	}
	if s := tp.Stats(); s.Forwarded != 3 || s.Requests != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestBlackholeHoldsUntilTheClientGivesUp(t *testing.T) {
	up, hits := startUpstream(t, nil)
	tp := startProxy(t, up.URL, "rules:\n  - {name: void, fault: {type: blackhole, max: 1h}}\n", Config{})
	client := &http.Client{Timeout: 200 * time.Millisecond}
	_, err := client.Post(tp.URL(), "application/json", strings.NewReader("{}"))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("client got %v, want its own timeout", err)
	}
	// The proxy notices the client left (not the 1h bound) and records it.
	if rec := tp.record(t); rec.ClientErr != "no_answer" || rec.Forwarded != 0 {
		t.Errorf("record %+v", rec)
	}
	noHit(t, hits)
}

func TestBlackholeLetsGoAfterMax(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	up, _ := startUpstream(t, nil)
	tp := startProxy(t, up.URL, "rules:\n  - {name: void, fault: {type: blackhole, max: 5s}}\n", Config{Clock: clk})
	held := clk.TimerCreated()
	got := make(chan error, 1)
	go func() { _, err := rawExchange(t, tp.Addr(), "/"); got <- err }()
	<-held
	select {
	case err := <-got:
		t.Fatalf("answered before max: %v", err)
	default:
	}
	clk.Advance(5 * time.Second)
	select {
	case err := <-got:
		if err != nil { // io.ReadAll: EOF is a clean end with no bytes
			t.Errorf("client read %v, want EOF", err)
		}
	case <-time.After(wait):
		t.Fatal("still held after max")
	}
}

func TestLatencyOnTheProxyClock(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	up, hits := startUpstream(t, nil)
	tp := startProxy(t, up.URL, `
rules:
  - {name: before, match: 'path == "/req"', fault: {type: latency, delay: 2s}}
  - {name: after, match: 'path == "/resp"', fault: {type: latency, delay: 2s, apply: response}}
`, Config{Clock: clk})
	for _, path := range []string{"/req", "/resp"} {
		held := clk.TimerCreated()
		done := make(chan error, 1)
		go func() { _, _, err := tp.post(t, path, nil, "{}"); done <- err }()
		<-held
		if path == "/req" {
			noHit(t, hits) // held before forwarding
		} else {
			getHit(t, hits) // forwarded, answer held
		}
		select {
		case <-done:
			t.Fatalf("%s answered before the delay", path)
		default:
		}
		clk.Advance(2 * time.Second)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if path == "/req" {
			getHit(t, hits)
		}
		want := map[string]string{"/req": "before", "/resp": "after"}[path]
		rec := tp.record(t)
		if rec.Duration != 2*time.Second || rec.Rule != want {
			t.Errorf("record %+v", rec)
		}
		// The upstream answered after the hold, or before the delay.
		if answered := map[string]time.Duration{"/req": 2 * time.Second, "/resp": 0}[path]; !rec.UpstreamAt.Equal(rec.At.Add(answered)) {
			t.Errorf("%s: upstream answered at %v, want request time %v + %s", path, rec.UpstreamAt, rec.At, answered)
		}
	}
}

// slow_body: every 100ms of the proxy's clock, rate/10 more bytes.
func TestSlowBodyRate(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	body := strings.Repeat("x", 35)
	up, _ := startUpstream(t, func(w http.ResponseWriter, r *http.Request, n int) { w.Write([]byte(body)) })
	tp := startProxy(t, up.URL, "rules:\n  - {name: drip, fault: {type: slow_body, rate: 100}}\n", Config{Clock: clk})
	c, err := net.Dial("tcp", tp.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	pacing := clk.TimerCreated()
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ContentLength != 35 {
		t.Fatalf("Content-Length %d", resp.ContentLength)
	}
	chunk := make([]byte, 10)
	for i, want := range []int{10, 10, 10, 5} {
		if i > 0 {
			pacing = clk.TimerCreated()
			clk.Advance(100 * time.Millisecond)
		}
		if i < 3 {
			<-pacing // the proxy wrote this chunk and waits for the next
		}
		n, err := io.ReadFull(resp.Body, chunk[:want])
		if err != nil || n != want {
			t.Fatalf("chunk %d: %d bytes, %v", i, n, err)
		}
		if br.Buffered() != 0 {
			t.Fatalf("chunk %d: %d bytes more than the rate allows", i, br.Buffered())
		}
	}
	if rec := tp.record(t); rec.ClientStatus != 200 || rec.ClientErr != "" || rec.Duration != 300*time.Millisecond {
		t.Errorf("record %+v", rec)
	}
}

// reorder holds one request so a later one reaches the upstream first.
func TestReorderLetsLaterRequestsOvertake(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	up, hits := startUpstream(t, nil)
	tp := startProxy(t, up.URL, "rules:\n  - {name: shuffle, match: 'body.seq == 1', fault: {type: reorder, delay: 1s}}\n", Config{Clock: clk})
	held := clk.TimerCreated()
	first := make(chan error, 1)
	go func() { _, _, err := tp.post(t, "/", nil, `{"seq":1}`); first <- err }()
	<-held
	if _, _, err := tp.post(t, "/", nil, `{"seq":2}`); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if a, b := getHit(t, hits), getHit(t, hits); a.Body != `{"seq":2}` || b.Body != `{"seq":1}` {
		t.Errorf("upstream order %s, %s: want seq 2 before seq 1", a.Body, b.Body)
	}
}

// down: the listener refuses connections for the window, then accepts.
func TestDownRefusesThenAcceptsAgain(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	up, _ := startUpstream(t, nil)
	gate := make(chan bool, 4)
	tp := startProxy(t, up.URL, "", Config{Clock: clk, onGate: func(down bool) { gate <- down }})

	// A keep-alive connection opened before the window.
	old, err := net.Dial("tcp", tp.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	old.SetDeadline(time.Now().Add(wait))
	oldr := bufio.NewReader(old)
	roundTrip := func() error {
		if _, err := fmt.Fprintf(old, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return err
		}
		resp, err := http.ReadResponse(oldr, nil)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return err
	}
	if err := roundTrip(); err != nil {
		t.Fatal(err)
	}
	<-tp.records

	scheduled := clk.TimerCreated()
	tp.SetRules(mustRules(t, "rules:\n  - {name: off, fault: {type: down}, after: 1s, for: 2s}\n"))
	<-scheduled
	scheduled = clk.TimerCreated()
	clk.Advance(time.Second)
	if down := <-gate; !down {
		t.Fatal("gate did not go down")
	}
	if _, err := net.Dial("tcp", tp.Addr()); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial during the window: %v, want connection refused", err)
	}
	if err := roundTrip(); err == nil {
		t.Fatal("a request on an old connection was answered during the window")
	}
	if rec := tp.record(t); rec.Fault != "down" || rec.ClientErr != "reset" {
		t.Errorf("record %+v", rec)
	}
	if !tp.Stats().Down {
		t.Error("stats do not say down")
	}
	<-scheduled
	clk.Advance(2 * time.Second)
	if down := <-gate; down {
		t.Fatal("gate did not come back up")
	}
	resp, _, err := tp.post(t, "/", nil, "{}")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after the window: %v %v", resp, err)
	}
}

// Every request produces exactly one record, in the ring and to the hook.
func TestEveryRequestIsRecorded(t *testing.T) {
	up, _ := startUpstream(t, nil)
	tp := startProxy(t, up.URL, `
rules:
  - {name: half, probability: 0.5, fault: {type: status, code: 503}}
`, Config{AttemptLog: 16, Seed: 3})
	const n = 40
	for i := range n {
		if _, _, err := tp.post(t, "/", map[string]string{"webhook-id": fmt.Sprint("evt_", i), "webhook-attempt": "1"}, "{}"); err != nil {
			t.Fatal(err)
		}
	}
	statuses := map[int]int{}
	for range n {
		statuses[tp.record(t).ClientStatus]++
	}
	if statuses[200]+statuses[503] != n || statuses[503] == 0 || statuses[200] == 0 {
		t.Errorf("outcomes %v", statuses)
	}
	recs, missed := tp.AttemptsPage(0, 0)
	if len(recs) != 16 || missed != n-16 || recs[0].Seq != n-15 || recs[15].Seq != n {
		t.Errorf("ring holds %d (first %d), missed %d", len(recs), recs[0].Seq, missed)
	}
	if got := tp.Attempts(n - 2); len(got) != 2 {
		t.Errorf("Attempts(since) returned %d", len(got))
	}
	s := tp.Stats()
	if s.Requests != n || s.Rules[0].Matched != n || s.Rules[0].Injected != uint64(statuses[503]) || s.Rules[0].Outcomes["503"] != uint64(statuses[503]) {
		t.Errorf("stats %+v", s)
	}
}

// The same seed and the same request sequence fault the same requests,
// through real sockets.
func TestProxyIsDeterministic(t *testing.T) {
	up, _ := startUpstream(t, nil)
	rules := `
rules:
  - {name: flaky, probability: 0.3, fault: {type: status, code: 503}}
  - {name: teapot, probability: 0.2, fault: {type: status, code: 418}}
`
	run := func(seed uint64) string {
		tp := startProxy(t, up.URL, rules, Config{Seed: seed})
		var out strings.Builder
		for i := range 60 {
			h := map[string]string{}
			if i%2 == 0 {
				h["webhook-id"], h["webhook-attempt"] = fmt.Sprint("evt_", i), "1"
			}
			resp, _, err := tp.post(t, "/", h, "{}")
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprint(&out, resp.StatusCode, " ")
		}
		return out.String()
	}
	a, b := run(11), run(11)
	if a != b {
		t.Errorf("seed 11 gave\n%s\nand\n%s", a, b)
	}
	if run(12) == a {
		t.Error("seed 12 gave the same faults as seed 11")
	}
}

func TestCloseEndsHolds(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	up, _ := startUpstream(t, nil)
	tp := startProxy(t, up.URL, "rules:\n  - {name: long, fault: {type: latency, delay: 1h}}\n", Config{Clock: clk})
	held := clk.TimerCreated()
	done := make(chan *http.Response, 1)
	go func() { resp, _, _ := tp.post(t, "/", nil, "{}"); done <- resp }()
	<-held
	rec := make(chan error, 1)
	go func() { rec <- tp.Close() }()
	select {
	case resp := <-done:
		if resp == nil || resp.StatusCode != 503 {
			t.Errorf("held request got %v, want 503", resp)
		}
	case <-time.After(wait):
		t.Fatal("a held request outlived Close")
	}
	select {
	case <-rec:
	case <-time.After(wait):
		t.Fatal("Close hung")
	}
	if r := tp.record(t); r.ClientErr != "shutdown" {
		t.Errorf("record %+v", r)
	}
}

// Rule windows count from Config.Start, or from SetStart's t0: a scenario
// runner pins them to its own t0.
func TestStartPinsTheRuleWindows(t *testing.T) {
	clk := clock.NewFake(time.Unix(100, 0))
	up, _ := startUpstream(t, nil)
	rules := "rules:\n  - {name: later, fault: {type: status, code: 503}, after: 5s, for: 10s}\n"
	tp := startProxy(t, up.URL, rules, Config{Clock: clk, Start: time.Unix(95, 0)})
	status := func() int {
		t.Helper()
		resp, _, err := tp.post(t, "/", nil, "{}")
		if err != nil {
			t.Fatal(err)
		}
		tp.record(t)
		return resp.StatusCode
	}
	if got := status(); got != 503 {
		t.Errorf("5s after Config.Start: %d, want 503", got)
	}
	if e := tp.Stats().Elapsed; e != fault.Duration(5*time.Second) {
		t.Errorf("elapsed %s, want 5s", time.Duration(e))
	}
	tp.SetStart(clk.Now())
	if got := status(); got != 200 {
		t.Errorf("at the new t0: %d, want 200", got)
	}
	clk.Advance(5 * time.Second)
	if got := status(); got != 503 {
		t.Errorf("5s after the new t0: %d, want 503", got)
	}
	clk.Advance(10 * time.Second)
	if got := status(); got != 200 {
		t.Errorf("after the window: %d, want 200", got)
	}
}
