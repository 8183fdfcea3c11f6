package chaos

import (
	"testing"

	"github.com/hookrig/hookrig/reference/webhook"
)

// With IDFrom, rules see the id a sender carries in its body (it sends no
// webhook-id) and the attempt the proxy numbered (it sends no
// webhook-attempt): the first attempt of evt_2 is refused, its retry and
// every other event pass.
func TestIDFromJSONAndNumberedAttempts(t *testing.T) {
	up, hits := startUpstream(t, nil)
	tp := startProxy(t, up.URL, `
rules:
  - name: first-of-two
    match: attempt == 1 && event_id == "evt_2"
    fault: {type: status, code: 503}
`, Config{IDFrom: webhook.IDInJSON("data.hookrig_id")})
	send := func(id string) int {
		resp, _, err := tp.post(t, "/hook", map[string]string{"X-Convoy-Event-ID": "own-id"}, `{"data":{"hookrig_id":"`+id+`"}}`)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	for _, step := range []struct {
		id      string
		status  int
		attempt int
	}{{"evt_1", 200, 1}, {"evt_2", 503, 1}, {"evt_2", 200, 2}, {"evt_1", 200, 2}} {
		if got := send(step.id); got != step.status {
			t.Errorf("%s: %d, want %d", step.id, got, step.status)
		}
		rec := tp.record(t)
		if rec.EventID != step.id || rec.Attempt != step.attempt {
			t.Errorf("record id %q attempt %d, want %q attempt %d", rec.EventID, rec.Attempt, step.id, step.attempt)
		}
		if step.status == 200 {
			getHit(t, hits)
		}
	}
	// A body without the id is forwarded, with no id recorded.
	if got := send(""); got != 200 {
		t.Errorf("empty id: %d, want 200", got)
	}
	if rec := tp.record(t); rec.EventID != "" {
		t.Errorf("empty id recorded as %q", rec.EventID)
	}
}
