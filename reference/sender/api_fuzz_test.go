package sender

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/hookrig/hookrig/internal/apitest"
)

// Whatever a client posts to the API, the answer is a 2xx or a 4xx with
// a JSON error, never a 5xx or a panic; what was accepted stays
// readable; and no error answer grows with the size of the method, a
// header or a body field (issue 17: answers echoed what they were sent). The sender is real (bbolt outbox in a temp dir), not started:
// nothing is delivered, so the fuzzer runs only the API.
//
//	go test ./reference/sender -run '^$' -fuzz FuzzAPI -fuzztime 60s
func FuzzAPI(f *testing.F) {
	s, err := Open(Config{DataDir: f.TempDir()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	ep, err := s.CreateEndpoint(EndpointSpec{URL: "http://127.0.0.1:9/hook", Secret: testSecret})
	if err != nil {
		f.Fatal(err)
	}
	h := s.Handler()
	seeds := []struct{ method, path, body string }{
		{"POST", "/v1/events", `{"endpoint":"` + ep.ID + `","type":"a.b","payload":{"x":1}}`},
		{"POST", "/v1/events", `{"events":[{"endpoint":"` + ep.ID + `","type":"a","key":"k","payload":[]}]}`},
		{"POST", "/v1/events", `{"endpoint":"nope","type":"a","payload":{}}`},
		{"POST", "/v1/endpoints", `{"url":"http://127.0.0.1:1/x","secret":"` + testSecret + `","policy":{"max_attempts":3,"schedule":["0s","5s"]}}`},
		{"POST", "/v1/endpoints", `{"url":"ftp://x","secret":"whsec_"}`},
		{"POST", "/v1/dlq/replay", `{"ids":["x"]}`},
		{"GET", "/v1/events/" + "evt_1", ""},
		{"DELETE", "/v1/endpoints/" + ep.ID + "x", ""},
		{"POST", "/v1/events", `{"endpoint":`},
	}
	const js = "application/json"
	for _, sd := range seeds {
		f.Add(sd.method, sd.path, sd.body, js)
	}
	big := strings.Repeat("z", 100_000)
	f.Add(big, "/v1/events", ``, js)
	f.Add("POST", "/v1/events", `{"endpoint":"`+ep.ID+`","type":"`+big+`","payload":{}}`, js)
	f.Add("POST", "/v1/endpoints", `{"url":"http://`+big+`/","`+big+`":1}`, js)
	f.Add("POST", "/v1/events", `{}`, big)
	f.Fuzz(func(t *testing.T, method, path, body, contentType string) {
		if _, err := url.ParseRequestURI(path); err != nil || !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t") {
			return // net/http answers 400 before any handler: not ours to test
		}
		if !apitest.ValidMethod(method) || !apitest.ValidHeaderValue(contentType) {
			return // net/http refuses these before any handler
		}
		before := s.Stats().Accepted
		req := httptest.NewRequest("GET", "http://sender"+path, strings.NewReader(body))
		req.Method = method
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		code := rec.Code
		if code >= 400 && rec.Body.Len() > apitest.MaxErrorAnswer {
			t.Fatalf("%d answer of %d bytes to a %d-byte method, %d-byte type, %d-byte body", code, rec.Body.Len(), len(method), len(contentType), len(body))
		}
		if code >= 500 {
			t.Fatalf("%s %s %q: %d %s", method, path, body, code, rec.Body)
		}
		if code >= 400 && !strings.HasPrefix(rec.Body.String(), `{"error":`) {
			t.Fatalf("%s %s %q: %d without a JSON error: %s", method, path, body, code, rec.Body)
		}
		if after := s.Stats().Accepted; after < before {
			t.Fatalf("accepted went from %d to %d", before, after)
		}
	})
}
