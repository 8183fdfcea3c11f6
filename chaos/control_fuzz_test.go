package chaos

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/hookrig/hookrig/internal/apitest"
)

// Whatever a script sends the control API, the answer is 2xx or a 4xx
// JSON error, never a 5xx or a panic; a refused change leaves the rules
// in force exactly as they were; and no error answer grows with the size
// of the method, a header or the body (issue 17: a 1 MB method got a
// 1 MB answer).
//
//	go test ./chaos -run '^$' -fuzz FuzzControl -fuzztime 60s
func FuzzControl(f *testing.F) {
	p, err := New(Config{Upstream: "http://127.0.0.1:9"})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { p.Close() })
	h := p.ControlHandler()
	js := "application/json"
	f.Add("PUT", "/v1/rules", `{"rules": [{"name": "flaky", "probability": 0.3, "fault": {"type": "status", "code": 503}}]}`, js)
	f.Add("PUT", "/v1/rules", "rules:\n  - name: slow\n    fault: {type: latency, distribution: normal, mean: 10ms, stddev: 2ms}\n", "application/yaml")
	f.Add("POST", "/v1/rules", `{"name": "dup", "match": "attempt == 1", "fault": {"type": "duplicate"}}`, js)
	f.Add("POST", "/v1/rules", `{"name": "bad", "probability": -1, "fault": {"type": "reset"}}`, js)
	f.Add("POST", "/v1/rules", `{"name": "`+strings.Repeat("n", 100_000)+`", "fault": {"type": "nope"}}`, js)
	f.Add("DELETE", "/v1/rules/flaky", ``, js)
	f.Add("GET", "/v1/attempts?since=-1&limit=x", ``, js)
	f.Add("POST", "/v1/reset", ``, js)
	f.Add(strings.Repeat("M", 100_000), "/v1/rules", ``, js)
	f.Add("POST", "/v1/rules", `{}`, strings.Repeat("t", 100_000))
	f.Fuzz(func(t *testing.T, method, target, body, contentType string) {
		if !apitest.ValidMethod(method) || !apitest.ValidHeaderValue(contentType) {
			return // net/http refuses such requests before any handler
		}
		if _, err := url.ParseRequestURI(target); err != nil || !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " \r\n\t") {
			return // net/http refuses such request lines before any handler
		}
		before := p.Rules()
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "http://control"+target, strings.NewReader(body))
		req.Method = method
		req.Header.Set("Content-Type", contentType)
		h.ServeHTTP(rec, req)
		if rec.Code >= 400 && rec.Body.Len() > apitest.MaxErrorAnswer {
			t.Fatalf("%d answer of %d bytes to a %d-byte method, %d-byte type, %d-byte body", rec.Code, rec.Body.Len(), len(method), len(contentType), len(body))
		}
		switch code := rec.Code; {
		case code >= 500:
			t.Fatalf("%s %s %q: %d %s", method, target, body, code, rec.Body)
		case code >= 400:
			var e struct{ Error string }
			if json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error == "" {
				t.Fatalf("%d without a JSON error: %s", code, rec.Body)
			}
			if after := p.Rules(); !reflect.DeepEqual(before, after) {
				t.Fatalf("%s %s refused (%d) but the rules changed:\n%+v\n%+v", method, target, code, before, after)
			}
		}
	})
}
