package chaos

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// Whatever a script sends the control API, the answer is 2xx or a 4xx
// JSON error, never a 5xx or a panic; and a refused change leaves the
// rules in force exactly as they were.
//
//	go test ./chaos -run '^$' -fuzz FuzzControl -fuzztime 60s
func FuzzControl(f *testing.F) {
	p, err := New(Config{Upstream: "http://127.0.0.1:9"})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { p.Close() })
	h := p.ControlHandler()
	f.Add("PUT", "/v1/rules", `{"rules": [{"name": "flaky", "probability": 0.3, "fault": {"type": "status", "code": 503}}]}`)
	f.Add("PUT", "/v1/rules", "rules:\n  - name: slow\n    fault: {type: latency, distribution: normal, mean: 10ms, stddev: 2ms}\n")
	f.Add("POST", "/v1/rules", `{"name": "dup", "match": "attempt == 1", "fault": {"type": "duplicate"}}`)
	f.Add("POST", "/v1/rules", `{"name": "bad", "probability": -1, "fault": {"type": "reset"}}`)
	f.Add("DELETE", "/v1/rules/flaky", ``)
	f.Add("GET", "/v1/attempts?since=-1&limit=x", ``)
	f.Add("POST", "/v1/reset", ``)
	f.Fuzz(func(t *testing.T, method, target, body string) {
		switch method {
		case "GET", "PUT", "POST", "DELETE":
		default:
			return
		}
		if _, err := url.ParseRequestURI(target); err != nil || !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " \r\n\t") {
			return // net/http refuses such request lines before any handler
		}
		before := p.Rules()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, "http://control"+target, strings.NewReader(body)))
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
