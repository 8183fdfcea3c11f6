package sender

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type apiClient struct {
	t   *testing.T
	url string
}

func (c apiClient) do(method, path, body string) (int, map[string]any) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		c.t.Fatalf("%s %s: content type %q, body %s", method, path, ct, b)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		c.t.Fatalf("%s %s: answer is not a JSON object: %s", method, path, b)
	}
	return resp.StatusCode, v
}

func TestHTTPAPI(t *testing.T) {
	h := openHarness(t, t.TempDir(), Config{MaxBody: 4096})
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	c := apiClient{t, srv.URL}

	// Create: a secret is generated when none is given; the policy
	// fills in from the defaults.
	code, ep := c.do("POST", "/v1/endpoints", `{"url": "http://127.0.0.1:9/hooks", "policy": {"max_attempts": 3, "ordered": true}}`)
	if code != 201 || !strings.HasPrefix(ep["secret"].(string), "whsec_") || !strings.HasPrefix(ep["id"].(string), "ep_") {
		t.Fatalf("create: %d %v", code, ep)
	}
	pol := ep["policy"].(map[string]any)
	if pol["max_attempts"].(float64) != 3 || pol["ordered"] != true || pol["attempt_timeout"] != "15s" {
		t.Fatalf("policy %v", pol)
	}
	id := ep["id"].(string)
	code, got := c.do("GET", "/v1/endpoints/"+id, "")
	if code != 200 || got["url"] != "http://127.0.0.1:9/hooks" || got["secret"] != nil {
		t.Fatalf("get endpoint (the secret is shown only at creation): %d %v", code, got)
	}
	code, got = c.do("GET", "/v1/endpoints", "")
	if code != 200 || len(got["endpoints"].([]any)) != 1 {
		t.Fatalf("list endpoints: %d %v", code, got)
	}

	// Two events accepted before the bad input: none may be lost.
	code, one := c.do("POST", "/v1/events", `{"endpoint": "`+id+`", "type": "a.b", "key": "k", "payload": {"n": 1}}`)
	if code != 202 || one["id"] == nil {
		t.Fatalf("single: %d %v", code, one)
	}
	code, batch := c.do("POST", "/v1/events", `{"events": [{"id": "evt_2", "endpoint": "`+id+`", "type": "a.b", "payload": [2]}]}`)
	if code != 202 || batch["ids"].([]any)[0] != "evt_2" {
		t.Fatalf("batch: %d %v", code, batch)
	}

	ev := func(fields string) string { return `{"endpoint": "` + id + `", ` + fields + `}` }
	bad := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"malformed JSON", "POST", "/v1/events", "{\n\"endpoint\": ,}", 400, "malformed JSON at line 2, column 13"},
		{"truncated JSON", "POST", "/v1/events", `{"endpoint": "x"`, 400, "unexpected end"},
		{"empty body", "POST", "/v1/events", ``, 400, "empty body"},
		{"unknown field", "POST", "/v1/events", ev(`"type": "a", "payload": 1, "paylod": 2`), 400, `unknown field "paylod"`},
		{"wrong type", "POST", "/v1/events", ev(`"type": 5, "payload": 1`), 400, "field type: got JSON number, expected string"},
		{"missing endpoint", "POST", "/v1/events", `{"type": "a", "payload": 1}`, 400, "endpoint: required"},
		{"missing type", "POST", "/v1/events", ev(`"payload": 1`), 400, "type: required"},
		{"missing payload", "POST", "/v1/events", ev(`"type": "a"`), 400, "payload: required"},
		{"null payload", "POST", "/v1/events", ev(`"type": "a", "payload": null`), 400, "payload: required"},
		{"unknown endpoint", "POST", "/v1/events", `{"endpoint": "ep_nope", "type": "a", "payload": 1}`, 400, `endpoint: no endpoint "ep_nope"`},
		{"bad id", "POST", "/v1/events", ev(`"id": "has space", "type": "a", "payload": 1`), 400, "id: \"has space\": byte 3 is not printable ASCII"},
		{"oversized body", "POST", "/v1/events", ev(`"type": "a", "payload": "` + strings.Repeat("x", 5000) + `"`), 413, "over the limit of 4096 bytes"},
		{"batch and single", "POST", "/v1/events", `{"type": "a", "events": []}`, 400, "not both"},
		{"empty batch", "POST", "/v1/events", `{"events": []}`, 400, "no events given"},
		{"bad event in batch", "POST", "/v1/events", `{"events": [` + ev(`"type": "a", "payload": 1`) + `, ` + ev(`"type": "a", "payload": 2`) + `, ` + ev(`"payload": 3`) + `]}`, 400, "events[2].type: required"},
		{"unknown endpoint in batch", "POST", "/v1/events", `{"events": [` + ev(`"type": "a", "payload": 1`) + `, {"endpoint": "ep_x", "type": "a", "payload": 1}]}`, 400, `events[1].endpoint: no endpoint "ep_x"`},
		{"bad URL", "POST", "/v1/endpoints", `{"url": "ftp://example.com/x"}`, 400, "scheme must be http or https"},
		{"URL without host", "POST", "/v1/endpoints", `{"url": "http:///path"}`, 400, "has no host"},
		{"not a URL", "POST", "/v1/endpoints", `{"url": "http://[::1"}`, 400, "is not a URL"},
		{"missing URL", "POST", "/v1/endpoints", `{}`, 400, "url: required"},
		{"bad secret", "POST", "/v1/endpoints", `{"url": "http://127.0.0.1:9", "secret": "whsec_!!"}`, 400, "secret: invalid secret"},
		{"bad policy field", "POST", "/v1/endpoints", `{"url": "http://127.0.0.1:9", "policy": {"max_age": 60}}`, 400, "policy.max_age: 60 is not a duration string"},
		{"invalid policy", "POST", "/v1/endpoints", `{"url": "http://127.0.0.1:9", "policy": {"concurrency": 0}}`, 400, "policy.concurrency: must be at least 1"},
		{"unknown event", "GET", "/v1/events/msg_nope", ``, 404, `no event "msg_nope"`},
		{"unknown endpoint get", "GET", "/v1/endpoints/ep_nope", ``, 404, `no endpoint "ep_nope"`},
		{"unknown endpoint delete", "DELETE", "/v1/endpoints/ep_nope", ``, 404, `no endpoint "ep_nope"`},
		{"replay unknown", "POST", "/v1/dlq/replay", `{"ids": ["msg_nope"]}`, 404, `no event "msg_nope"`},
		{"replay pending", "POST", "/v1/dlq/replay", `{"ids": ["evt_2"]}`, 409, `"evt_2" is pending, not dead-lettered`},
		{"replay empty list", "POST", "/v1/dlq/replay", `{"ids": []}`, 400, "empty list"},
		{"replay bad JSON", "POST", "/v1/dlq/replay", `{"ids": "x"}`, 400, "field ids"},
		{"bad page", "GET", "/v1/dlq?limit=0", ``, 400, "limit"},
		{"no route", "GET", "/v1/nothing", ``, 404, "no such route"},
		{"wrong method", "PUT", "/v1/events", `{}`, 405, "method PUT not allowed"},
	}
	for _, b := range bad {
		code, body := c.do(b.method, b.path, b.body)
		msg, _ := body["error"].(string)
		if code != b.status || !strings.Contains(msg, b.want) {
			t.Errorf("%s: %d %q, want %d containing %q", b.name, code, msg, b.status, b.want)
		}
	}

	// Nothing accepted was lost, and nothing refused was accepted.
	if st := h.Stats(); st.Accepted != 2 || st.Endpoints != 1 {
		t.Fatalf("stats after bad input %+v", st)
	}
	for _, evID := range []string{one["id"].(string), "evt_2"} {
		code, got := c.do("GET", "/v1/events/"+evID, "")
		if code != 200 || got["state"] != "pending" || got["endpoint"] != id {
			t.Fatalf("event %s: %d %v", evID, code, got)
		}
	}
	code, list := c.do("GET", "/v1/events?limit=1", "")
	if code != 200 || len(list["events"].([]any)) != 1 {
		t.Fatalf("list events %d %v", code, list)
	}
	code, list = c.do("GET", "/v1/events?after=1", "")
	if code != 200 || len(list["events"].([]any)) != 1 || list["events"].([]any)[0].(map[string]any)["id"] != "evt_2" {
		t.Fatalf("list events after 1: %d %v", code, list)
	}
	code, stats := c.do("GET", "/v1/stats", "")
	for _, k := range []string{"accepted", "delivered", "pending", "dead_lettered", "attempts"} {
		if _, ok := stats[k]; !ok || code != 200 {
			t.Fatalf("stats %d %v lack %q", code, stats, k)
		}
	}

	// Deleting the endpoint dead-letters both; the DLQ lists them;
	// replay skips them (the endpoint is gone).
	if code, _ := c.do("DELETE", "/v1/endpoints/"+id, ""); code != 200 {
		t.Fatalf("delete %d", code)
	}
	code, dlq := c.do("GET", "/v1/dlq", "")
	if code != 200 || len(dlq["events"].([]any)) != 2 || dlq["total"].(float64) != 2 {
		t.Fatalf("dlq %d %v", code, dlq)
	}
	code, rep := c.do("POST", "/v1/dlq/replay", "")
	if code != 200 || rep["replayed"].(float64) != 0 || len(rep["skipped"].([]any)) != 2 {
		t.Fatalf("replay all %d %v", code, rep)
	}

	// After Close the API answers 503, not 500.
	h.Close()
	if code, body := c.do("POST", "/v1/events", `{"endpoint": "x", "type": "a", "payload": 1}`); code != 503 {
		t.Fatalf("after close: %d %v", code, body)
	}
}
