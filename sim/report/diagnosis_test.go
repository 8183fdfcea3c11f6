package report

import (
	"strings"
	"testing"

	"github.com/hookrig/hookrig/sim/verdict"
)

// downResult is a run against a user's endpoint that refused everything.
func downResult(t *testing.T) *verdict.Result {
	t.Helper()
	r := sample(t, 4)
	r.Target = verdict.Target{Receiver: "http://127.0.0.1:3999/hooks", Sender: verdict.ReferenceTarget, AttemptTimeoutS: 15}
	r.Endpoint = verdict.Endpoint{Attempts: 3, Failures: []verdict.CauseCount{{Cause: "refused", Class: "transport", Count: 3}}}
	r.Findings = []string{"Your endpoint refused every connection (3 attempts).", "No event was delivered."}
	r.SetRunChecks([]verdict.Assertion{{Expr: "delivered > 0", Message: "no event was delivered (5 accepted): a run that delivers nothing cannot pass"}})
	return r
}

func TestDiagnosisInEveryFormat(t *testing.T) {
	r := downResult(t)
	text := render(t, r, Text)
	for _, want := range []string{
		"FAIL  nothing delivered · 2 of 3 assertions failed",
		"tested: your endpoint http://127.0.0.1:3999/hooks · hookrig's sender, attempt timeout 15 s",
		"Finding: Your endpoint refused every connection (3 attempts). No event was delivered.",
		"How your endpoint answered the 3 requests it was sent (0 answered; injected faults aside)",
		"failed: refused ×3",
		"FAIL  delivered > 0 (run check)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text report lacks %q:\n%s", want, text)
		}
	}
	junit := render(t, r, JUnit)
	for _, want := range []string{`name="finding" value="Your endpoint refused every connection`, `name="target.receiver" value="http://127.0.0.1:3999/hooks"`,
		`name="endpoint.failures" value="refused ×3"`, `testcase name="delivered &gt; 0 (run check)"`, `type="RunCheckFailed"`} {
		if !strings.Contains(junit, want) {
			t.Errorf("JUnit lacks %q:\n%s", want, junit)
		}
	}
	html := render(t, r, HTML)
	for _, want := range []string{"Tested: your endpoint", "Your endpoint refused every connection", "Failed: refused ×3", "(run check)"} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}

// A healthy run against the reference receiver says nothing more than
// how the receiver answered.
func TestHealthyReferenceRunStaysCompact(t *testing.T) {
	r := sample(t, 4)
	r.Target = verdict.Target{Receiver: verdict.ReferenceTarget, Sender: verdict.ReferenceTarget}
	r.Findings = nil
	text := render(t, r, Text)
	for _, unwanted := range []string{"Finding:", "tested:", "(run check)"} {
		if strings.Contains(text, unwanted) {
			t.Errorf("a healthy reference run's report says %q", unwanted)
		}
	}
}

// A number and its unit are never split across lines.
func TestWrapKeepsNumbersWithTheirUnits(t *testing.T) {
	got := wrap("tested: your endpoint http://127.0.0.1:39101/webhooks · hookrig's sender, attempt timeout 15 s", "      ", 98)
	if !strings.Contains(got, "15 s") || strings.Contains(got, "15\n") {
		t.Errorf("wrap split a number from its unit:\n%s", got)
	}
	if got := wrap("a b", "", 1); got != "a\nb" {
		t.Errorf("wrap(a b, width 1) = %q", got)
	}
}
