package receiver

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/reference/webhook"
)

// Whatever arrives — any path, id, timestamp, signature and body, signed
// properly or not — the receiver answers 2xx only to a verified JSON
// webhook, 4xx with a JSON error to anything else, never 5xx (no
// processing step is configured to fail) and never panics; every request
// is counted once.
//
//	go test ./reference/receiver -run '^$' -fuzz FuzzWebhook -fuzztime 60s
func FuzzWebhook(f *testing.F) {
	fake := clock.NewFake(t0)
	r, err := New(Config{Secrets: []string{secretA}, Clock: fake, MaxBody: 4096})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { r.Close() })
	h := r.Handler()
	secret, err := webhook.ParseSecret(secretA)
	if err != nil {
		f.Fatal(err)
	}
	now := strconv.FormatInt(t0.Unix(), 10)
	f.Add("/hooks", "msg_1", now, true, "", `{"type":"a","n":1}`)
	f.Add("/hooks", "msg_1", now, true, "", `{"type":"a","n":1}`) // a repeat
	f.Add("/", "msg_2", now, false, "v1,AAAA", `{}`)
	f.Add("/x", "", "", false, "", ``)
	f.Add("/x", "msg_3", "1614265330", true, "", `{}`) // outside the tolerance
	f.Add("/x", "msg_4", now, true, "", `not json`)
	f.Add("/x", "msg_5", now, false, "v1, v2,x v1,", `[]`)
	f.Add("/x", "msg_6", now, true, "", strings.Repeat("x", 5000))
	f.Fuzz(func(t *testing.T, path, id, ts string, sign bool, sig, body string) {
		if _, err := url.ParseRequestURI(path); err != nil || !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "/v1/") ||
			strings.ContainsAny(path, " \r\n\t") {
			return // net/http answers 400 itself, or the API's routes
		}
		if sign {
			n, err := strconv.ParseInt(ts, 10, 64)
			if err != nil {
				return
			}
			sig = secret.Sign(id, n, []byte(body))
		}
		before := r.Stats()
		req := httptest.NewRequest("POST", "http://receiver"+path, strings.NewReader(body))
		for k, v := range map[string]string{webhook.HeaderID: id, webhook.HeaderTimestamp: ts, webhook.HeaderSignature: sig} {
			if v != "" && !strings.ContainsAny(v, "\r\n\x00") {
				req.Header.Set(k, v)
			}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		code := rec.Code
		switch {
		case code >= 500:
			t.Fatalf("%d for %q: %s", code, body, rec.Body)
		case code >= 400:
			if !strings.HasPrefix(rec.Body.String(), `{"error":`) {
				t.Fatalf("%d without a JSON error: %s", code, rec.Body)
			}
		case code >= 200 && code < 300:
			if !sign || !json.Valid([]byte(body)) || len(body) > 4096 {
				t.Fatalf("%d for an unverified or invalid webhook (signed %v): %q", code, sign, body)
			}
		}
		after := r.Stats()
		if after.Received != before.Received+1 {
			t.Fatalf("received %d -> %d for one request", before.Received, after.Received)
		}
	})
}
