package chaos

import (
	"strings"
	"testing"

	"github.com/hookrig/hookrig/internal/apitest"
)

const downRule = `{"name": "down", "fault": {"type": "down"}}`

// Issue 17 findings 4 and 9: a web page could post rules as text/plain
// (a "simple" request no browser asks about first), a webhook aimed at the
// control API injected a down rule, and "bearer" in lower case was
// refused. None of the refused requests changes the rules.
func TestControlRefusesBrowsersAndWebhooks(t *testing.T) {
	up, _ := startUpstream(t, nil)
	tp := startProxy(t, up.URL, "", Config{ControlToken: "s3cret"})
	api := startControl(t, tp).URL
	auth := "Bearer s3cret"
	cases := []struct {
		name   string
		header map[string]string
		want   int
		says   string
	}{
		{"text/plain", map[string]string{"Authorization": auth, "Content-Type": "text/plain"}, 415, "want application/json"},
		{"form", map[string]string{"Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"}, 415, "Content-Type"},
		{"no type", map[string]string{"Authorization": auth}, 415, "Content-Type"},
		{"foreign origin", map[string]string{"Authorization": auth, "Content-Type": "application/json", "Origin": "http://evil.example"}, 403, "cross-origin"},
		{"cross-site fetch", map[string]string{"Authorization": auth, "Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, 403, "cross-origin"},
		{"a webhook", map[string]string{"Authorization": auth, "Content-Type": "application/json", "webhook-id": "msg_1", "webhook-signature": "v1,x"}, 403, "not a control request"},
		{"no token", map[string]string{"Content-Type": "application/json"}, 401, "bearer token"},
	}
	for _, c := range cases {
		if code, body := apitest.Request(t, "POST", api+"/v1/rules", downRule, c.header); code != c.want || !strings.Contains(body, c.says) {
			t.Errorf("%s: %d %s, want %d saying %q", c.name, code, body, c.want, c.says)
		}
	}
	if n := len(tp.Rules()); n != 0 {
		t.Fatalf("refused requests left %d rules", n)
	}
	for _, scheme := range []string{"bearer", "BEARER", "Bearer"} {
		hdr := map[string]string{"Authorization": scheme + " s3cret", "Content-Type": "application/json; charset=utf-8"}
		if code, body := apitest.Request(t, "GET", api+"/v1/rules", "", hdr); code != 200 {
			t.Errorf("scheme %q: %d %s", scheme, code, body)
		}
	}
	hdr := map[string]string{"Authorization": auth, "Content-Type": "application/yaml", "Origin": api}
	if code, body := apitest.Request(t, "PUT", api+"/v1/rules", "rules: []\n", hdr); code != 200 {
		t.Errorf("YAML from the API's own origin: %d %s", code, body)
	}
}
