package receiver

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookrig/hookrig/reference/webhook"
)

func TestStatusCodes(t *testing.T) {
	g := newRig(t, Config{MaxBody: 64})
	body := []byte(`{"type":"invoice.paid"}`)
	ts := func(d time.Duration) string { return strconv.FormatInt(t0.Add(d).Unix(), 10) }
	good := g.sign.Signature("msg_x", t0.Unix(), body)
	cases := []struct {
		name    string
		method  string
		id, ts  string
		sig     string
		body    []byte
		chunked bool
		status  int
		reason  string // in the error and the journal
	}{
		{"valid", "POST", "msg_x", ts(0), good, body, false, 200, ""},
		{"wrong signature", "POST", "msg_a", ts(0), g.sign.Signature("msg_a", t0.Unix(), []byte(`{}`)), body, false, 401, "no matching signature"},
		{"garbage signature", "POST", "msg_b", ts(0), "v1,bm90IGEgc2lnbmF0dXJl", body, false, 401, "no matching signature"},
		{"bare v1,", "POST", "msg_c", ts(0), "v1,", body, false, 401, "no matching signature"},
		{"missing webhook-id", "POST", "", ts(0), good, body, false, 401, "missing required header: webhook-id"},
		{"missing webhook-timestamp", "POST", "msg_d", "", good, body, false, 401, "missing required header: webhook-timestamp"},
		{"missing webhook-signature", "POST", "msg_e", ts(0), "", body, false, 401, "missing required header: webhook-signature"},
		{"unreadable timestamp", "POST", "msg_f", "yesterday", good, body, false, 400, "invalid webhook-timestamp"},
		{"stale timestamp", "POST", "msg_g", ts(-5*time.Minute - time.Second), g.sign.Signature("msg_g", t0.Add(-5*time.Minute-time.Second).Unix(), body), body, false, 400, "too old"},
		{"future timestamp", "POST", "msg_h", ts(5*time.Minute + time.Second), g.sign.Signature("msg_h", t0.Add(5*time.Minute+time.Second).Unix(), body), body, false, 400, "too new"},
		{"oldest tolerated", "POST", "msg_i", ts(-5 * time.Minute), g.sign.Signature("msg_i", t0.Add(-5*time.Minute).Unix(), body), body, false, 200, ""},
		{"oversized", "POST", "msg_j", ts(0), good, bytes.Repeat([]byte("x"), 65), false, 413, "over the limit of 64 bytes"},
		{"oversized chunked", "POST", "msg_k", ts(0), good, bytes.Repeat([]byte("x"), 200), true, 413, "over the limit of 64 bytes"},
		{"exactly the limit", "POST", "msg_l", ts(0), g.sign.Signature("msg_l", t0.Unix(), []byte(`"`+strings.Repeat("x", 62)+`"`)), []byte(`"` + strings.Repeat("x", 62) + `"`), true, 200, ""},
		{"not JSON", "POST", "msg_m", ts(0), g.sign.Signature("msg_m", t0.Unix(), []byte(`{"a":`)), []byte(`{"a":`), false, 400, "body is not JSON"},
		{"empty body", "POST", "msg_n", ts(0), g.sign.Signature("msg_n", t0.Unix(), nil), nil, false, 400, "body is not JSON"},
		{"GET on a webhook path", "GET", "msg_o", ts(0), good, nil, false, 405, "POST"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var rd *bytes.Reader
			if c.body != nil {
				rd = bytes.NewReader(c.body)
			}
			req, _ := http.NewRequest(c.method, g.srv.URL+"/hooks/"+c.name, nil)
			if rd != nil {
				req.Body = readCloser{rd}
				req.ContentLength = int64(len(c.body))
				if c.chunked {
					req.ContentLength = -1 // sent chunked: no Content-Length to trust
				}
			}
			for k, v := range map[string]string{webhook.HeaderID: c.id, webhook.HeaderTimestamp: c.ts, webhook.HeaderSignature: c.sig} {
				if v != "" {
					req.Header.Set(k, v)
				}
			}
			a := g.do(req)
			if a.Status != c.status {
				t.Fatalf("status %d (%s), want %d", a.Status, a.Body, c.status)
			}
			rc := g.lastReceipt()
			if rc.Status != c.status || rc.ID != c.id || rc.At != t0 || rc.Duplicate {
				t.Errorf("receipt %+v", rc)
			}
			if c.reason == "" {
				if !rc.Verified || rc.Error != "" || string(a.Body) != AckFresh {
					t.Errorf("accepted: receipt %+v, answer %s", rc, a.Body)
				}
				return
			}
			if rc.Verified || !strings.Contains(rc.Error, c.reason) || !strings.Contains(a.errorText(), c.reason) {
				t.Errorf("rejected: receipt %+v, answer %s; want reason %q", rc, a.Body, c.reason)
			}
			if a.Header.Get("Content-Type") != "application/json" {
				t.Errorf("error answer Content-Type %q", a.Header.Get("Content-Type"))
			}
		})
	}
	s := g.r.Stats()
	checkBalance(t, s)
	want := RejectedStats{Signature: 6, Timestamp: 3, TooLarge: 2, NotJSON: 2, Method: 1}
	if s.Unique != 3 || s.RejectedBy != want || s.Rejected != 14 {
		t.Errorf("stats %+v, want 3 unique and rejections %+v", s, want)
	}
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

func TestOversizedIDIsTruncatedInTheJournal(t *testing.T) {
	g := newRig(t, Config{})
	req := g.webhookReq("/", strings.Repeat("i", 5000), []byte(`{}`))
	req.Header.Set(webhook.HeaderSignature, "v1,AAAA")
	if a := g.do(req); a.Status != 400 || !strings.Contains(a.errorText(), "webhook-id of 5000 bytes is over the limit of 256 bytes") {
		t.Fatalf("status %d %s", a.Status, a.Body)
	}
	if rc := g.lastReceipt(); len(rc.ID) != maxJournaledID {
		t.Fatalf("journaled id of %d bytes, want %d", len(rc.ID), maxJournaledID)
	}
}

func TestSecretRotation(t *testing.T) {
	g := newRig(t, Config{Secrets: []string{secretA, secretB}})
	body := []byte(`{"rotated":true}`)
	for i, c := range []struct {
		secrets []string
		status  int
	}{
		{[]string{secretA}, 200},          // the old secret
		{[]string{secretB}, 200},          // the new one
		{[]string{secretC, secretB}, 200}, // a sender signing with two, one known
		{[]string{secretC}, 401},          // neither
	} {
		s, err := webhook.NewSigner(c.secrets...)
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("msg_rot_%d", i)
		req := g.webhookReq("/rotation", id, body)
		s.SetHeaders(req.Header, id, g.clock.Now(), body)
		if a := g.do(req); a.Status != c.status {
			t.Errorf("signed with %v: %d, want %d", c.secrets, a.Status, c.status)
		}
	}
	if _, err := New(Config{Secrets: []string{secretA, "whsec_%%%"}}); err == nil || !strings.Contains(err.Error(), "invalid secret") {
		t.Errorf("a bad secret among good ones: %v", err)
	}
	if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), "secret") {
		t.Errorf("no secret: %v", err)
	}
}

func TestDuplicateIsAcknowledgedNotProcessedAgain(t *testing.T) {
	var mu sync.Mutex
	processed := map[string]int{}
	g := newRig(t, Config{Processing: ProcessingConfig{BeforeAck: true, Func: func(_ context.Context, d Delivery) error {
		mu.Lock()
		processed[d.Receipt.ID]++
		mu.Unlock()
		return nil
	}}})
	first := g.post("msg_dup", 1)
	g.clock.Advance(2 * time.Hour) // a retry, hours later, with a fresh timestamp
	second := g.post("msg_dup", 2)
	if first.Status != 200 || second.Status != 200 || string(first.Body) != AckFresh || string(second.Body) != AckDuplicate {
		t.Fatalf("answers %d %s / %d %s", first.Status, first.Body, second.Status, second.Body)
	}
	rs := g.r.Receipts(0, 0)
	if len(rs) != 2 || rs[0].Duplicate || !rs[1].Duplicate || rs[1].Attempt != 2 || !rs[1].Verified || rs[1].Status != 200 {
		t.Fatalf("receipts %+v", rs)
	}
	if processed["msg_dup"] != 1 {
		t.Fatalf("processed %d times", processed["msg_dup"])
	}
	s := g.r.Stats()
	if s.Unique != 1 || s.Duplicates != 1 || s.Window != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// Concurrent deliveries of one id (a sender's retry racing its own slow
// first attempt, or a proxy duplicating) must give exactly one
// non-duplicate, whatever the interleaving.
func TestConcurrentSameIDExactlyOneUnique(t *testing.T) {
	quick := func(context.Context, Delivery) error { return nil }
	for _, c := range []struct {
		name string
		p    ProcessingConfig
	}{
		{"processing inline after the ack", ProcessingConfig{}},
		{"processing on workers after the ack", ProcessingConfig{Func: quick, Workers: 4}},
	} {
		t.Run(c.name, func(t *testing.T) { testConcurrentSameID(t, c.p) })
	}
}

func testConcurrentSameID(t *testing.T, p ProcessingConfig) {
	const ids, copies = 20, 8
	g := newRig(t, Config{Processing: p})
	g.srv.Client().Transport.(*http.Transport).MaxIdleConnsPerHost = copies
	var wg sync.WaitGroup
	start := make(chan struct{})
	statuses := make(chan int, ids*copies)
	for i := range ids {
		id := fmt.Sprintf("msg_race_%d", i)
		for range copies {
			req := g.webhookReq("/race", id, []byte(`{}`))
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				resp, err := g.srv.Client().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				statuses <- resp.StatusCode
			}()
		}
	}
	close(start)
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != 200 {
			t.Errorf("status %d, want 200 for every copy", s)
		}
	}
	unique := map[string]int{}
	for _, rc := range g.r.Receipts(0, 0) {
		if !rc.Duplicate {
			unique[rc.ID]++
		}
	}
	for i := range ids {
		if n := unique[fmt.Sprintf("msg_race_%d", i)]; n != 1 {
			t.Errorf("msg_race_%d: %d non-duplicate receipts, want 1", i, n)
		}
	}
	s := g.r.Stats()
	if s.Unique != ids || s.Duplicates != ids*(copies-1) || s.Conflicts != 0 {
		t.Errorf("stats %+v", s)
	}
	checkBalance(t, s)
}

func TestAPI(t *testing.T) {
	g := newRig(t, Config{})
	for i := range 5 {
		g.post(fmt.Sprintf("msg_api_%d", i%3), i+1)
	}
	var page ReceiptsPage
	if st := g.get("/v1/receipts?since=1&limit=3", &page); st != 200 {
		t.Fatalf("status %d", st)
	}
	if len(page.Receipts) != 3 || page.Receipts[0].Seq != 2 || page.Next != 4 || page.Receipts[2].ID != "msg_api_0" || !page.Receipts[2].Duplicate {
		t.Fatalf("page %+v", page)
	}
	g.get("/v1/receipts?since=4", &page)
	if len(page.Receipts) != 1 || page.Next != 5 || page.Receipts[0].At != t0 {
		t.Fatalf("page %+v", page)
	}
	g.get("/v1/receipts?since=5", &page)
	if page.Receipts == nil || len(page.Receipts) != 0 || page.Next != 5 {
		t.Fatalf("empty page %+v", page)
	}
	var st Stats
	g.get("/v1/stats", &st)
	if st.Received != 5 || st.Unique != 3 || st.Duplicates != 2 || st.Journal.LastSeq != 5 || st.Window != 3 {
		t.Fatalf("stats %+v", st)
	}
	var health map[string]string
	if g.get("/v1/health", &health) != 200 || health["status"] != "ok" {
		t.Fatalf("health %v", health)
	}
	for _, c := range []struct {
		method, path string
		status       int
		want         string
	}{
		{"GET", "/v1/receipts?since=-1", 400, "since"},
		{"GET", "/v1/receipts?limit=0", 400, "limit"},
		{"GET", "/v1/receipts?limit=100000", 400, "limit"},
		{"GET", "/v1/nothing", 404, "no such route"},
		{"POST", "/v1/stats", 405, "not allowed"},
		{"POST", "/v1", 404, "no such route"},
	} {
		req, _ := http.NewRequest(c.method, g.srv.URL+c.path, strings.NewReader(`{}`))
		a := g.do(req)
		if a.Status != c.status || !strings.Contains(a.errorText(), c.want) {
			t.Errorf("%s %s: %d %s, want %d mentioning %q", c.method, c.path, a.Status, a.Body, c.status, c.want)
		}
	}
	if s := g.r.Stats(); s.Received != 5 {
		t.Errorf("API calls counted as webhooks: %+v", s)
	}
}

func TestClosedReceiverTurnsRequestsAway(t *testing.T) {
	g := newRig(t, Config{})
	if err := g.r.Close(); err != nil {
		t.Fatal(err)
	}
	if a := g.post("msg_late", 1); a.Status != 503 || a.Header.Get("Retry-After") == "" {
		t.Fatalf("after Close: %d %s", a.Status, a.Body)
	}
	var h map[string]string
	if g.get("/v1/health", &h) != 503 {
		t.Fatal("health after Close should be 503")
	}
	if err := g.r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Secrets: []string{secretA}, Tolerance: -1}, "negative"},
		{Config{Secrets: []string{secretA}, Processing: ProcessingConfig{FailureRatio: 1.5}}, "outside 0..1"},
		{Config{Secrets: []string{secretA}, Processing: ProcessingConfig{Workers: -1}}, "negative"},
	} {
		if _, err := New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
}
