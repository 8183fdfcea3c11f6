package chaos

import (
	"testing"
)

// StripFleetPrefix: a fleet endpoint's request reaches the upstream at its
// own path, and a rule still matches its group; other paths go as they
// came.
func TestStripFleetPrefix(t *testing.T) {
	up, hits := startUpstream(t, nil)
	tp := startProxy(t, up.URL, `
rules:
  - name: sick-only
    match: endpoint.group == "sick"
    fault: {type: status, code: 503}
`, Config{StripFleetPrefix: true})
	for _, c := range []struct{ path, upstream string }{
		{"/fleet/well/3/hooks/3?x=1", "/hooks/3?x=1"},
		{"/fleet/well/12", "/"},
		{"/plain/path", "/plain/path"},
	} {
		resp, _, err := tp.post(t, c.path, nil, `{}`)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", c.path, resp.StatusCode)
		}
		if h := getHit(t, hits); h.Path != c.upstream {
			t.Errorf("%s reached the upstream at %s, want %s", c.path, h.Path, c.upstream)
		}
		tp.record(t)
	}
	resp, _, err := tp.post(t, "/fleet/sick/1/hooks/1", nil, `{}`)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 503 {
		t.Errorf("the sick group's endpoint got %d, want the rule's 503", resp.StatusCode)
	}
	if rec := tp.record(t); rec.Rule != "sick-only" || rec.Path != "/fleet/sick/1/hooks/1" {
		t.Errorf("record %+v", rec)
	}
	noHit(t, hits)
}
