package sim_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim"
	"github.com/hookrig/hookrig/sim/internal/simtest"
	"github.com/hookrig/hookrig/sim/live"
	"github.com/hookrig/hookrig/sim/report"
	"github.com/hookrig/hookrig/sim/verdict"
)

// Runs against endpoints of the user's own, written here and served on
// 127.0.0.1: one that is down, one that answers after 2 s, one that
// answers 500 to every fifth request, and a healthy one. Each run is 40
// events in one second with a short drain, so the four stay under ~20 s.

const endpointSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// endpointScenario is the runs' scenario: 40 events over 1 s, quick
// retries, at most 4 attempts in flight, a 5 s attempt timeout.
func endpointScenario(t *testing.T, drain string, assertions ...string) *scenarios.Scenario {
	t.Helper()
	// Quick's fast retries, more of them, 4 workers and a timeout that
	// lets a 2 s answer through.
	body := strings.NewReplacer("  policy:\n", "  workers: 4\n  policy:\n    attempt_timeout: 5s\n",
		"max_attempts: 5", "max_attempts: 20").Replace(simtest.Quick) + "drain: {timeout: " + drain + "}\nassertions:\n"
	for _, a := range assertions {
		body += "  - " + a + "\n"
	}
	return simtest.Parse(t, "your-endpoint", body)
}

func runEndpoint(t *testing.T, s *scenarios.Scenario, url string) *verdict.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := sim.Run(ctx, s, live.Options{ReceiverURL: url, Secret: endpointSecret})
	if err != nil {
		t.Fatalf("run against %s: %v", url, err)
	}
	simtest.CheckAccount(t, res)
	return res
}

func textReport(t *testing.T, r *verdict.Result) string {
	t.Helper()
	var b bytes.Buffer
	if err := report.WriteText(&b, r); err != nil {
		t.Fatal(err)
	}
	t.Logf("text report, first lines:\n%s", strings.Join(slices.Collect(lines(b.String(), 15)), "\n"))
	return b.String()
}

func lines(s string, n int) func(func(string) bool) {
	return func(yield func(string) bool) {
		for i, l := range strings.Split(s, "\n") {
			if i == n || !yield(l) {
				return
			}
		}
	}
}

func wantFinding(t *testing.T, r *verdict.Result, want string) {
	t.Helper()
	for _, f := range r.Findings {
		if strings.Contains(f, want) {
			return
		}
	}
	t.Errorf("no finding says %q: %q", want, r.Findings)
}

// A down endpoint: every connection refused. Nothing was delivered, so
// the run fails whatever its assertions say, a latency assertion has no
// value to pass on, and the report says why in one sentence.
func TestDownEndpointIsDiagnosedAndFails(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/webhooks"
	srv.Close() // nothing listens there any more

	s := endpointScenario(t, "1s", "lost == 0", "dead_lettered == 0", `delivery.p99 < duration("1s")`,
		`endpoint.response.p99 < duration("1s")`)
	res := runEndpoint(t, s, url)
	if res.Passed {
		t.Errorf("a run that delivered nothing passed: %+v %+v", res.Assertions, res.RunChecks)
	}
	if res.Events.Delivered != 0 || res.Events.Accepted != 40 {
		t.Fatalf("accepted %d, delivered %d; want 40 and 0", res.Events.Accepted, res.Events.Delivered)
	}
	if a := res.Assertions[2]; a.Passed || a.Message != "no event was delivered, so delivery.p99 has no value" {
		t.Errorf("delivery.p99 over no deliveries: %+v", a)
	}
	if a := res.Assertions[3]; a.Passed || a.Message != "the endpoint answered no request, so endpoint.response.p99 has no value" {
		t.Errorf("endpoint.response.p99 over no answers: %+v", a)
	}
	wantFinding(t, res, "Your endpoint refused every connection")
	if res.Target.Receiver != url {
		t.Errorf("target receiver %q, want %q", res.Target.Receiver, url)
	}
	if len(res.Endpoint.Failures) != 1 || res.Endpoint.Failures[0].Cause != "refused" {
		t.Errorf("failures by cause %+v, want only refused", res.Endpoint.Failures)
	}
	text := textReport(t, res)
	if !strings.Contains(text, "refused every connection") || !strings.Contains(text, "no event was delivered") {
		t.Errorf("the text report does not say what went wrong:\n%s", text)
	}
}

// A slow endpoint (2 s an answer, 4 attempts at a time) cannot keep up:
// the drain times out with events pending and attempts in flight. The
// counts must still agree (finding 3: attempts in flight at the drain's
// end were missed while their receipts were counted), the report must
// name the slowness, and pending events fail the run unless the
// scenario allows them.
func TestSlowEndpointIsNamedAndCountsAgree(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
			w.WriteHeader(http.StatusOK)
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()

	// The drain ends 5.5 s in, half-way through the third round of
	// answers, which come back within the sender's shutdown grace.
	s := endpointScenario(t, "4500ms", "lost == 0")
	res := runEndpoint(t, s, srv.URL+"/webhooks")
	if !res.Run.DrainTimedOut || res.Events.Pending == 0 {
		t.Fatalf("the drain should time out with events pending: %+v", res.Events)
	}
	if res.Passed {
		t.Error("a run that ended with events pending passed")
	}
	failed := res.FailedRunChecks()
	if len(failed) != 1 || failed[0].Expr != "pending == 0" || !strings.Contains(failed[0].Message, "allow_pending") {
		t.Errorf("run checks %+v, want pending == 0 failed, naming drain.allow_pending", res.RunChecks)
	}
	wantFinding(t, res, "Answers took 2.0 s at p50 against an attempt timeout of 5 s")
	wantFinding(t, res, "of events were still pending")
	if p50 := res.Endpoint.Response.P50; p50 < 2000 || p50 > 2500 {
		t.Errorf("endpoint response p50 %v ms, want about 2000", p50)
	}
	textReport(t, res)

	allow := endpointScenario(t, "4500ms", "lost == 0")
	allow.Drain.AllowPending = true
	sim.Check(res, allow)
	if !res.Passed {
		t.Errorf("with drain.allow_pending the run should pass: %+v %+v", res.Assertions, res.RunChecks)
	}
}

// An endpoint that answers every fifth request 500: retries deliver
// everything, and the report says how often it failed.
func TestFlakyEndpointFailuresByCause(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%5 == 0 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()

	res := runEndpoint(t, endpointScenario(t, "5s", "lost == 0", "endpoint.failed_ratio > 0.15 && endpoint.failed_ratio < 0.25"), srv.URL+"/webhooks")
	if !res.Passed || res.Events.Delivered != 40 {
		t.Errorf("every event should be delivered and the run pass: %+v %+v %+v", res.Events, res.Assertions, res.RunChecks)
	}
	fs := res.Endpoint.Failures
	if len(fs) != 1 || fs[0].Cause != "500" || fs[0].Class != "5xx" || fs[0].Count != res.Endpoint.Attempts/5 {
		t.Errorf("failures by cause %+v over %d attempts, want one 500 in 5", fs, res.Endpoint.Attempts)
	}
	wantFinding(t, res, "1 in 5 attempts was answered 500")
	textReport(t, res)
}

// A healthy endpoint: nothing to find, and the run passes.
func TestHealthyEndpointHasNoFindings(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	res := runEndpoint(t, endpointScenario(t, "5s", "lost == 0", `delivery.p99 < duration("1s")`), srv.URL+"/webhooks")
	if !res.Passed || res.Events.Delivered != 40 || len(res.Findings) != 0 {
		t.Errorf("a healthy endpoint: %+v findings %q assertions %+v", res.Events, res.Findings, res.Assertions)
	}
	if res.Endpoint.Answered != res.Endpoint.Attempts || res.Endpoint.Response.Count != res.Endpoint.Answered {
		t.Errorf("endpoint section %+v", res.Endpoint)
	}
	textReport(t, res)
}

// An endpoint that answers 410 Gone: the sender disables it, and the
// report says when and why.
func TestGoneEndpointDisableIsReported(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusGone)
	}))
	defer srv.Close()

	res := runEndpoint(t, endpointScenario(t, "2s", "lost == 0"), srv.URL+"/webhooks")
	if len(res.Endpoint.Disables) != 1 || !strings.Contains(res.Endpoint.Disables[0].Reason, "410") {
		t.Fatalf("disables %+v, want one for the 410", res.Endpoint.Disables)
	}
	if d := res.Endpoint.Disables[0].AtS; d < 0 || d > res.Run.EndS {
		t.Errorf("disabled at %v s, outside the run (0 to %v s)", d, res.Run.EndS)
	}
	wantFinding(t, res, "The sender disabled your endpoint at")
	if res.Passed {
		t.Error("a run that delivered nothing passed")
	}
	if text := textReport(t, res); !strings.Contains(text, "disabled by the sender at") {
		t.Errorf("the text report does not say the endpoint was disabled:\n%s", text)
	}
}
