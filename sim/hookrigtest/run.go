package hookrigtest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim"
	"github.com/hookrig/hookrig/sim/live"
	"github.com/hookrig/hookrig/sim/report"
	"github.com/hookrig/hookrig/sim/verdict"
)

// Target is the endpoint a scenario runs against: Endpoint or URL.
type Target struct {
	handler http.Handler
	url     string
}

// Endpoint is your webhook handler, served for the run on 127.0.0.1 (as
// httptest.NewServer does) and put behind the chaos proxy. Webhooks are
// posted to its root path.
func Endpoint(h http.Handler) Target { return Target{handler: h} }

// URL is your endpoint already listening at u (hookrig run --receiver).
func URL(u string) Target { return Target{url: u} }

// Run runs a scenario live against target, as hookrig run does: scenario
// is a built-in's name ("baseline", "flaky-5xx"...; hookrig scenarios
// list) or a YAML file. If an assertion fails, the test fails with the
// failed assertions and the whole text report; if the run cannot be done,
// the test stops (Fatalf). It returns the judged result, for more checks.
// Options: WithSecret (the secret your endpoint verifies with: give it),
// WithReceipts, WithSeed.
func Run(t testing.TB, scenario string, target Target, opts ...Option) *verdict.Result {
	t.Helper()
	s, err := scenarios.Open(scenario)
	if err != nil {
		t.Fatalf("hookrigtest: %v", err)
	}
	return RunScenario(t, s, target, opts...)
}

// RunScenario is Run for a scenario already parsed (scenarios.Parse for
// one written inline, Builtin(...).Shortened(f) for a quicker one). It
// does not change s.
func RunScenario(t testing.TB, s *scenarios.Scenario, target Target, opts ...Option) *verdict.Result {
	t.Helper()
	o := collect(opts)
	sc := *s
	if o.seed != nil {
		sc.Seed = *o.seed
	}
	base := target.url
	if target.handler != nil {
		if target.url != "" {
			t.Fatalf("hookrigtest: a target is a handler or a URL, not both")
		}
		srv := httptest.NewServer(target.handler)
		t.Cleanup(srv.Close)
		base = srv.URL + "/"
	}
	if base == "" {
		t.Fatalf("hookrigtest: no target: give hookrigtest.Endpoint(handler) or hookrigtest.URL(url)")
	}
	receipts, err := receiptsURL(base, o.receipts)
	if err != nil {
		t.Fatalf("hookrigtest: %v", err)
	}
	res, err := sim.Run(t.Context(), &sc, live.Options{ReceiverURL: base, ReceiptsURL: receipts, Secret: o.secret})
	if err != nil {
		t.Fatalf("hookrigtest: scenario %s: %v", sc.Name, err)
	}
	if !res.Passed {
		t.Errorf("%s", failure(res))
	}
	return res
}

// receiptsURL resolves WithReceipts' path against the endpoint's URL.
func receiptsURL(endpoint, pathOrURL string) (string, error) {
	if pathOrURL == "" || !strings.HasPrefix(pathOrURL, "/") {
		return pathOrURL, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", fmt.Errorf("endpoint URL %q: %v", endpoint, err)
	}
	return u.Scheme + "://" + u.Host + pathOrURL, nil
}

// failure is the test's message: the failed assertions first, then the
// report they come from.
func failure(res *verdict.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "hookrig: scenario %s: %d of %d assertions failed:\n", res.Scenario, res.FailedAssertions(), len(res.Assertions))
	for _, a := range res.Assertions {
		if !a.Passed {
			fmt.Fprintf(&b, "  ✗ %s", a.Expr)
			if a.Message != "" {
				fmt.Fprintf(&b, ": %s", a.Message)
			}
			b.WriteByte('\n')
		}
	}
	b.WriteString("\nthe report (hookrig run --receiver):\n")
	if err := report.WriteText(&b, res); err != nil {
		fmt.Fprintf(&b, "(the report could not be written: %v)\n", err)
	}
	return b.String()
}
