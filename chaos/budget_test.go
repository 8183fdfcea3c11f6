package chaos

import (
	"encoding/json"
	"strings"
	"testing"
)

// Issue 17's rule that spun for ever is refused by the control API with
// the limit it breaks, and a rule that goes over its budget only at run
// time fails closed on the wire: the request passes unfaulted and the
// proxy counts a rule error.
func TestRuleBudgetThroughTheControlAPI(t *testing.T) {
	up, hits := startUpstream(t, nil)
	tp := startProxy(t, up.URL, "", Config{})
	api := startControl(t, tp).URL

	spin, _ := json.Marshal(map[string]any{
		"name":  "spin",
		"match": `let r = 1..100000; path == "/spin" && all(r, {all(r, {# > 0})})`,
		"fault": map[string]any{"type": "status", "code": 418},
	})
	code, body := call(t, "POST", api+"/v1/rules", "", string(spin))
	var answer struct{ Error string }
	if err := json.Unmarshal([]byte(body), &answer); err != nil || code != 400 {
		t.Fatalf("POST spin: %d %s (%v): want a 400 with an error", code, body, err)
	}
	if !strings.Contains(answer.Error, `rule "spin": match: over the rule budget: range 1..100000 has 100000 elements, over the limit of 10000`) || strings.Contains(answer.Error, "\n") {
		t.Errorf("POST spin: error %q: want one line naming the limit", answer.Error)
	}
	if rules := tp.Rules(); len(rules) != 0 {
		t.Fatalf("rules in force after a refused rule: %+v", rules)
	}
	if resp, _, err := tp.post(t, "/spin", nil, "{}"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST /spin through the proxy: %v %v", resp, err)
	}
	getHit(t, hits)

	counted := `{"name": "counted", "match": "len(1..attempt) > 1", "fault": {"type": "status", "code": 418}}`
	if code, body := call(t, "POST", api+"/v1/rules", "", counted); code != 201 {
		t.Fatalf("POST counted: %d %s", code, body)
	}
	resp, _, err := tp.post(t, "/", map[string]string{"webhook-id": "evt_1", "webhook-attempt": "2000000000"}, "{}")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("a rule over its budget faulted the request: %v %v", resp, err)
	}
	if h := getHit(t, hits); h.ID != "evt_1" {
		t.Errorf("upstream got %q, want evt_1 forwarded", h.ID)
	}
	if resp, _, err := tp.post(t, "/", map[string]string{"webhook-id": "evt_2", "webhook-attempt": "3"}, "{}"); err != nil || resp.StatusCode != 418 {
		t.Fatalf("within the budget the rule must fire: %v %v", resp, err)
	}
	code, body = call(t, "GET", api+"/v1/stats", "", "")
	var st Stats
	if err := json.Unmarshal([]byte(body), &st); err != nil || code != 200 || len(st.Rules) != 1 {
		t.Fatalf("GET /v1/stats: %d %s (%v)", code, body, err)
	}
	if r := st.Rules[0]; r.MatchErrors != 1 || r.Matched != 1 || r.Injected != 1 {
		t.Errorf("stats of counted: %d rule errors, %d matched, %d injected; want 1, 1, 1", r.MatchErrors, r.Matched, r.Injected)
	}
}
