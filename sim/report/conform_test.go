package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/hookrig/hookrig/sim/verdict"
)

func sampleConformance() *verdict.Conformance {
	c := &verdict.Conformance{Target: verdict.ConformReceiver, URL: "http://127.0.0.1:3999/hook", Checks: []verdict.ConformCheck{
		{ID: "signature.valid", Level: verdict.Must, Status: verdict.CheckPass, Evidence: "answered 200", Spec: "Signature scheme"},
		{ID: "signature.raw-body", Level: verdict.Must, Status: verdict.CheckFail, Evidence: "key order → 401 <re-serialised?>", Spec: "Signature scheme"},
		{ID: "body.large", Level: verdict.Should, Status: verdict.CheckWarn, Evidence: "256 KiB → 413", Spec: "Payload size"},
		{ID: "idempotency.processed-once", Level: verdict.Must, Status: verdict.CheckSkip, Evidence: "needs --receipts", Spec: "Verifying signatures"},
	}}
	c.Seal()
	return c
}

func TestConformanceRenders(t *testing.T) {
	c := sampleConformance()
	if c.Passed {
		t.Fatal("sealed as passed with a failed MUST")
	}
	render := func(f Format) string {
		var b bytes.Buffer
		if err := RenderConformance(&b, c, f); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		return b.String()
	}
	text := render(Text)
	for _, want := range []string{"DOES NOT CONFORM: receiver http://127.0.0.1:3999/hook — 1 passed, 1 failed, 1 warnings, 1 skipped",
		"signature.raw-body          MUST    FAIL  key order → 401 <re-serialised?> [Signature scheme]", "body.large                  SHOULD  WARN"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	var back verdict.Conformance
	if err := json.Unmarshal([]byte(render(JSON)), &back); err != nil || back.Validate() != nil || len(back.Checks) != 4 || back.Checks[1].Status != verdict.CheckFail {
		t.Errorf("json round trip: %v %v %+v", err, back.Validate(), back)
	}
	junit := render(JUnit)
	for _, want := range []string{`tests="4" failures="1"`, `skipped="1"`, `<skipped message="needs --receipts">`, `<failure message="key order → 401 &lt;re-serialised?&gt;" type="MUST">`} {
		if !strings.Contains(junit, want) {
			t.Errorf("junit lacks %q:\n%s", want, junit)
		}
	}
	html := render(HTML)
	if !strings.Contains(html, `<tr class="bad"><td><code>signature.raw-body</code>`) || !strings.Contains(html, "&lt;re-serialised?&gt;") {
		t.Errorf("html:\n%s", html)
	}
	if err := RenderConformance(&bytes.Buffer{}, c, "pdf"); err == nil {
		t.Error("pdf rendered")
	}
}

func TestConformanceValidate(t *testing.T) {
	c := sampleConformance()
	c.Checks[0].Status = "ok"
	c.Target = "proxy"
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), `target "proxy"`) {
		t.Errorf("err = %v", err)
	}
	c.Target = verdict.ConformReceiver
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `status "ok"`) {
		t.Errorf("err = %v", err)
	}
}
