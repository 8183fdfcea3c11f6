package receiver

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/hookrig/hookrig/reference/webhook"
)

// Bounds on what one request can make the receiver write back or keep:
// constants, whatever the request's size. A reason is at most 256 bytes
// and an unverified id 256, but JSON escapes a control byte as six
// (\u0017), hence the room.
const (
	maxAnswerBytes  = 2048
	maxJournalBytes = 4096
)

// serveRaw hands req straight to the handler (no server in front: the
// server's own header limit is internal/httpapi's, tested there), and
// returns the answer and the newest receipt's journal line.
func serveRaw(t *testing.T, r *Receiver, req *http.Request) (*httptest.ResponseRecorder, []byte) {
	t.Helper()
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, req)
	all := r.Receipts(0, 0)
	if len(all) == 0 {
		return rec, nil
	}
	line, _ := all[len(all)-1].MarshalJSON()
	return rec, line
}

// rawRequest builds a request with any method and headers, as a server
// would hand it over.
func rawRequest(method, path string, h http.Header, body string) *http.Request {
	return &http.Request{
		Method: method, URL: &url.URL{Path: path}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Host: "receiver",
	}
}

// Finding 3: a megabyte in a header or a method comes back as a few dozen
// bytes with its length stated, in the answer and in the journal; the
// unverified requests are counted by cause.
func TestEchoedValuesAreBounded(t *testing.T) {
	g := newRig(t, Config{})
	big := strings.Repeat("1", 1_000_000)
	body := `{"n":1}`
	signed := func(id, ts string) http.Header {
		h := http.Header{}
		h.Set(webhook.HeaderID, id)
		h.Set(webhook.HeaderTimestamp, ts)
		n, _ := strconv.ParseInt(ts, 10, 64)
		s, _ := webhook.ParseSecret(secretA)
		h.Set(webhook.HeaderSignature, s.Sign(id, n, []byte(body)))
		return h
	}
	now := strconv.FormatInt(g.clock.Now().Unix(), 10)
	cases := []struct {
		name   string
		req    *http.Request
		status int
		says   string
	}{
		{"1 MB webhook-timestamp", rawRequest("POST", "/hooks", signed("msg_1", big), body), 400, "bytes)"},
		{"1 MB webhook-id, signed", rawRequest("POST", "/hooks", signed(big, now), body), 400, "webhook-id of 1000000 bytes is over the limit of 256 bytes"},
		{"1 MB webhook-signature", rawRequest("POST", "/hooks", http.Header{
			"Webhook-Id": {"msg_2"}, "Webhook-Timestamp": {now}, "Webhook-Signature": {"v1," + big},
		}, body), 401, "no matching signature"},
		{"60 KB method", rawRequest(strings.Repeat("M", 60<<10), "/hooks", http.Header{}, ""), 405, "(61440 bytes)"},
		{"60 KB method on the API", rawRequest(strings.Repeat("M", 60<<10), "/v1/stats", http.Header{}, ""), 405, "(61440 bytes)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec, line := serveRaw(t, g.r, c.req)
			if rec.Code != c.status || rec.Body.Len() > maxAnswerBytes || !strings.Contains(rec.Body.String(), c.says) {
				t.Errorf("answer %d of %d bytes, want %d of at most %d saying %q: %.300s", rec.Code, rec.Body.Len(), c.status, maxAnswerBytes, c.says, rec.Body)
			}
			if len(line) > maxJournalBytes {
				t.Errorf("journal line of %d bytes: %.300s", len(line), line)
			}
		})
	}
	rb := g.r.Stats().RejectedBy
	if rb.Timestamp != 1 || rb.Signature != 1 || rb.LongID != 1 || rb.Method != 1 {
		t.Errorf("rejections by cause %+v, want timestamp 1, signature 1, long id 1, method 1", rb)
	}
}

// Finding 7: a page of receipts is at most 1 MiB of JSON whatever its
// limit, and Next carries on from the last receipt it holds, so paging
// still reads every receipt once.
func TestReceiptsPageIsBounded(t *testing.T) {
	g := newRig(t, Config{ReceiptLog: 20000})
	const n = 12000
	pad := strings.Repeat("p", 200) // each receipt ~ 300 bytes: 12,000 of them are ~3.6 MB
	for i := range n {
		h := http.Header{}
		h.Set(webhook.HeaderID, fmt.Sprintf("msg_%d_%s", i, pad))
		rec := httptest.NewRecorder()
		g.r.Handler().ServeHTTP(rec, rawRequest("POST", "/hooks", h, `{}`))
	}
	seen, since := 0, uint64(0)
	for pages := 0; pages < 100; pages++ {
		resp, err := g.srv.Client().Get(g.srv.URL + "/v1/receipts?limit=10000&since=" + strconv.FormatUint(since, 10))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if len(b) > maxPageBytes+64 {
			t.Fatalf("a page of %d bytes, over the %d cap", len(b), maxPageBytes)
		}
		var page ReceiptsPage
		if err := json.Unmarshal(b, &page); err != nil {
			t.Fatalf("page: %v: %.200s", err, b)
		}
		if len(page.Receipts) == 0 {
			break
		}
		for _, rc := range page.Receipts {
			if rc.Seq != since+1 {
				t.Fatalf("seq %d after %d: a receipt skipped or repeated", rc.Seq, since)
			}
			since = rc.Seq
			seen++
		}
		if page.Next != since {
			t.Fatalf("next %d, last seq %d", page.Next, since)
		}
	}
	if seen != n {
		t.Errorf("paged through %d receipts, want %d", seen, n)
	}
}

// Whatever method and headers arrive unauthenticated, and however large,
// the answer and the journal line stay under a constant: nothing the
// receiver writes grows with the size of what it was sent.
//
//	go test ./reference/receiver -run '^$' -fuzz FuzzBoundedEcho -fuzztime 20s
func FuzzBoundedEcho(f *testing.F) {
	r, err := New(Config{Secrets: []string{secretA}, Clock: fakeAt(t0), MaxBody: 4096})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { r.Close() })
	f.Add("POST", "/hooks", 0, "1", uint16(1000))
	f.Add("GET", "/hooks", 1, "msg_", uint16(60000))
	f.Add("M", "/v1/stats", 2, "v1,", uint16(5000))
	f.Add("POST", "/v1/receipts", 3, "x", uint16(50000))
	f.Add("DELETE", "/v1/nothing", 4, "é", uint16(30000))
	headers := []string{webhook.HeaderID, webhook.HeaderTimestamp, webhook.HeaderSignature, webhook.HeaderAttempt, "Content-Type"}
	f.Fuzz(func(t *testing.T, method, path string, which int, unit string, times uint16) {
		if method == "" || path == "" || path[0] != '/' || unit == "" || strings.ContainsAny(unit+path, "\r\n\x00") {
			return
		}
		value := strings.Repeat(unit, int(times))
		if len(value) > 256<<10 {
			value = value[:256<<10]
		}
		h := http.Header{}
		h.Set(webhook.HeaderID, "msg_fuzz")
		h.Set(webhook.HeaderTimestamp, strconv.FormatInt(t0.Unix(), 10))
		h.Set(webhook.HeaderSignature, "v1,AAAA")
		h.Set(headers[((which%len(headers))+len(headers))%len(headers)], value)
		// Half the time the method is the big value too.
		if times%2 == 1 {
			method = strings.Repeat(method, int(times)%4096+1)
		}
		before := r.Stats().Journal.LastSeq
		rec := httptest.NewRecorder()
		r.Handler().ServeHTTP(rec, rawRequest(method, path, h, `{"n":1}`))
		if rec.Body.Len() > maxAnswerBytes {
			t.Fatalf("%d-byte answer to a %d-byte header and a %d-byte method: %.200s", rec.Body.Len(), len(value), len(method), rec.Body)
		}
		for _, rc := range r.Receipts(before, 0) {
			if line, _ := rc.MarshalJSON(); len(line) > maxJournalBytes {
				t.Fatalf("%d-byte journal line: %.200s", len(line), line)
			}
		}
	})
}
