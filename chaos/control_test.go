package chaos

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrig/hookrig/chaos/fault"
	"github.com/hookrig/hookrig/internal/apitest"
)

func startControl(t *testing.T, tp *testProxy) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(tp.ControlHandler())
	t.Cleanup(srv.Close)
	return srv
}

func call(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	header := map[string]string{}
	if body != "" {
		header["Content-Type"] = "application/json"
	}
	if token != "" {
		header["Authorization"] = "Bearer " + token
	}
	return apitest.Request(t, method, url, body, header)
}

func TestControlAPIRules(t *testing.T) {
	up, _ := startUpstream(t, nil)
	tp := startProxy(t, up.URL, "", Config{})
	api := startControl(t, tp).URL

	code, body := call(t, "PUT", api+"/v1/rules", "", `{"rules": [
		{"name": "flaky", "match": "method == \"POST\"", "probability": 1, "fault": {"type": "status", "code": 503, "headers": {"Retry-After": "1"}}, "after": "0s", "for": "1h"}]}`)
	if code != 200 || !strings.Contains(body, `"name":"flaky"`) {
		t.Fatalf("PUT: %d %s", code, body)
	}
	if resp, _, _ := tp.post(t, "/", nil, "{}"); resp.StatusCode != 503 {
		t.Fatalf("rule not in force: %d", resp.StatusCode)
	}
	// YAML works too, for one rule.
	code, body = call(t, "POST", api+"/v1/rules", "", "name: slow\nfault: {type: latency, delay: 1ms}\n")
	if code != 201 || !strings.Contains(body, `"slow"`) {
		t.Fatalf("POST: %d %s", code, body)
	}
	if code, body = call(t, "POST", api+"/v1/rules", "", `{"name": "slow", "fault": {"type": "reset"}}`); code != 409 || !strings.Contains(body, "exists") {
		t.Errorf("POST duplicate: %d %s", code, body)
	}
	code, body = call(t, "GET", api+"/v1/rules", "", "")
	var got rulesBody
	if err := json.Unmarshal([]byte(body), &got); err != nil || code != 200 || len(got.Rules) != 2 || got.Rules[0].For.D() != time.Hour {
		t.Fatalf("GET: %d %s %v", code, body, err)
	}
	if code, _ = call(t, "DELETE", api+"/v1/rules/flaky", "", ""); code != 204 {
		t.Errorf("DELETE: %d", code)
	}
	if code, body = call(t, "DELETE", api+"/v1/rules/flaky", "", ""); code != 404 || !strings.Contains(body, "no such rule") {
		t.Errorf("DELETE again: %d %s", code, body)
	}
	if resp, _, _ := tp.post(t, "/", nil, "{}"); resp.StatusCode != 200 {
		t.Errorf("deleted rule still in force: %d", resp.StatusCode)
	}
	code, body = call(t, "GET", api+"/v1/faults", "", "")
	if code != 200 || !strings.Contains(body, "ack_lost") {
		t.Errorf("faults: %d %s", code, body)
	}
	if code, body = call(t, "GET", api+"/v1/nope", "", ""); code != 404 || !strings.Contains(body, `"error"`) {
		t.Errorf("unknown route: %d %s", code, body)
	}
}

// A bad rule set is refused with the rule named, and the rules in force
// keep working.
func TestBadRulesKeepThePreviousRules(t *testing.T) {
	up, _ := startUpstream(t, nil)
	tp := startProxy(t, up.URL, "rules:\n  - {name: teapot, fault: {type: status, code: 418}}\n", Config{})
	api := startControl(t, tp).URL
	bad := map[string]string{
		"unknown fault":        `{"name": "x", "fault": {"type": "explode"}}`,
		"bad expression":       `{"name": "x", "match": "method ==", "fault": {"type": "reset"}}`,
		"negative probability": `{"name": "x", "probability": -1, "fault": {"type": "reset"}}`,
		"probability over 1":   `{"name": "x", "probability": 2, "fault": {"type": "reset"}}`,
		"bad duration":         `{"name": "x", "fault": {"type": "reset"}, "after": "soon"}`,
		"missing parameter":    `{"name": "x", "fault": {"type": "slow_body"}}`,
	}
	for what, rule := range bad {
		code, body := call(t, "PUT", api+"/v1/rules", "", `{"rules": [`+rule+`]}`)
		if code != 400 || !strings.Contains(body, `rule \"x\"`) {
			t.Errorf("%s: PUT %d %s", what, code, body)
		}
		if what != "bad duration" { // a bad duration cannot even become a fault.RuleSpec
			if err := tp.ReplaceRules([]fault.RuleSpec{mustSpec(t, rule)}); err == nil || !strings.Contains(err.Error(), `rule "x"`) {
				t.Errorf("%s: ReplaceRules said %v", what, err)
			}
		}
		if code, body := call(t, "POST", api+"/v1/rules", "", rule); code != 400 {
			t.Errorf("%s: POST %d %s", what, code, body)
		}
		if specs := tp.Rules(); len(specs) != 1 || specs[0].Name != "teapot" {
			t.Fatalf("%s: rules in force are now %+v", what, specs)
		}
		if resp, _, err := tp.post(t, "/", nil, "{}"); err != nil || resp.StatusCode != 418 {
			t.Fatalf("%s: the previous rule stopped working: %v %v", what, resp, err)
		}
	}
}

func mustSpec(t *testing.T, rule string) fault.RuleSpec {
	var s fault.RuleSpec
	if err := json.Unmarshal([]byte(rule), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestControlToken(t *testing.T) {
	up, _ := startUpstream(t, nil)
	tp := startProxy(t, up.URL, "", Config{ControlToken: "s3cret"})
	api := startControl(t, tp).URL
	for _, path := range []string{"/v1/stats", "/v1/rules", "/v1/nope"} {
		if code, body := call(t, "GET", api+path, "", ""); code != 401 || !strings.Contains(body, "bearer token") {
			t.Errorf("%s without token: %d %s", path, code, body)
		}
		if code, _ := call(t, "GET", api+path, "wrong", ""); code != 401 {
			t.Errorf("%s with a wrong token: %d", path, code)
		}
	}
	if code, _ := call(t, "GET", api+"/v1/stats", "s3cret", ""); code != 200 {
		t.Errorf("with the token: %d", code)
	}
}

func TestControlStatsAttemptsReset(t *testing.T) {
	up, _ := startUpstream(t, nil)
	tp := startProxy(t, up.URL, `
rules:
  - {name: amount, match: 'body.amount > 3', fault: {type: status, code: 500}}
  - {name: odd, match: 'attempt % 2 == 1', fault: {type: status, code: 503}}
`, Config{})
	api := startControl(t, tp).URL
	for i := 1; i <= 4; i++ {
		tp.post(t, "/", map[string]string{"webhook-id": "evt_1", "webhook-attempt": fmt.Sprint(i)}, "{}")
	}
	_, body := call(t, "GET", api+"/v1/stats", "", "")
	var s Stats
	json.Unmarshal([]byte(body), &s)
	// body.amount is missing: "nil > 3" fails at run time, counted, no match.
	if s.Requests != 4 || s.Injected != 2 || s.Outcomes["503"] != 2 || s.Outcomes["200"] != 2 || s.Rules[1].Matched != 2 || s.Rules[1].Outcomes["503"] != 2 || s.Rules[0].MatchErrors != 4 || s.Rules[0].Matched != 0 {
		t.Errorf("stats %s", body)
	}
	_, body = call(t, "GET", api+"/v1/attempts?since=1&limit=2", "", "")
	var page attemptsBody
	json.Unmarshal([]byte(body), &page)
	if len(page.Attempts) != 2 || page.Attempts[0].Seq != 2 || page.Next != 3 || page.Attempts[0].EventID != "evt_1" {
		t.Errorf("attempts page %s", body)
	}
	if code, _ := call(t, "GET", api+"/v1/attempts?since=x", "", ""); code != 400 {
		t.Errorf("since=x: %d", code)
	}
	if code, _ := call(t, "POST", api+"/v1/reset", "", ""); code != 204 {
		t.Errorf("reset: %d", code)
	}
	if s := tp.Stats(); s.Requests != 0 || len(s.Rules) != 0 || len(tp.Attempts(0)) != 0 {
		t.Errorf("after reset: %+v", s)
	}
}

// Changing rules under full load never stalls traffic or the API. The
// loops are bounded in count and time; nothing asserts a speed.
func TestRuleChangesUnderLoad(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte("ok"))
	}))
	defer up.Close()
	tp := startProxy(t, up.URL, "", Config{AttemptLog: 100})
	api := startControl(t, tp).URL
	// Drain the hook so it never blocks.
	stopDrain := make(chan struct{})
	go func() {
		for {
			select {
			case <-tp.records:
			case <-stopDrain:
				return
			}
		}
	}()
	defer close(stopDrain)

	deadline := time.Now().Add(20 * time.Second)
	var ok, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: wait}
			for i := 0; i < 5000 && time.Now().Before(deadline); i++ {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Post(tp.URL(), "application/json", strings.NewReader(`{"type":"a"}`))
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 || resp.StatusCode == 503 {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
			}
		}()
	}
	rules := []string{
		`{"rules": [{"name": "a", "match": "body.type == \"b\"", "fault": {"type": "status", "code": 503}}]}`,
		`{"rules": [{"name": "a", "probability": 0.1, "fault": {"type": "status", "code": 503}}, {"name": "b", "match": "header(\"x\") == \"y\"", "fault": {"type": "reset"}}]}`,
		`{"rules": []}`,
	}
	var progress []int64
	for i := range 60 {
		before := ok.Load()
		code, body := call(t, "PUT", api+"/v1/rules", "", rules[i%len(rules)])
		if code != 200 {
			t.Fatalf("PUT %d: %d %s", i, code, body)
		}
		if code, _ := call(t, "GET", api+"/v1/stats", "", ""); code != 200 {
			t.Fatalf("GET stats %d: %d", i, code)
		}
		if i%10 == 9 {
			// Traffic moves on between rule changes: wait (bounded) for
			// some requests to complete under the new rules.
			for ok.Load() == before && time.Now().Before(deadline) {
				call(t, "GET", api+"/v1/attempts?limit=1", "", "")
			}
			progress = append(progress, ok.Load()-before)
		}
	}
	close(stop)
	wg.Wait()
	for i, n := range progress {
		if n == 0 {
			t.Errorf("no request completed after rule change batch %d", i)
		}
	}
	if failed.Load() != 0 {
		t.Errorf("%d requests failed while rules changed", failed.Load())
	}
	if ok.Load() == 0 {
		t.Error("no traffic got through")
	}
}
