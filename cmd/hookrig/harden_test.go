package main

import (
	"context"
	"github.com/hookrig/hookrig/reference/sender/delivery"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookrig/hookrig/chaos"
	"github.com/hookrig/hookrig/reference/sender"
)

// Issue 17 finding 4: a sender API beyond loopback without a token lets
// anyone make it post anywhere. It refuses to start, in one line.
func TestSenderRefusesExposedAPIWithoutToken(t *testing.T) {
	code, _, logs := runOnce(context.Background(), "", "sender", "--listen", "0.0.0.0:0", "--data", t.TempDir())
	if code != exitError || !strings.Contains(logs, "beyond loopback, without a token: set --api-token") || strings.Count(strings.TrimSpace(logs), "\n") > 0 {
		t.Fatalf("exit %d, stderr %q", code, logs)
	}
}

// The token comes from --api-token or $HOOKRIG_API_TOKEN; the scheme is
// case-insensitive.
func TestSenderAPIToken(t *testing.T) {
	env := func(k string) string {
		if k == "HOOKRIG_API_TOKEN" {
			return "tok"
		}
		return ""
	}
	s := startServer(t, env, 1, "sender", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--no-dispatch")
	for _, c := range []struct {
		auth string
		want int
	}{{"", 401}, {"Bearer nope", 401}, {"bearer tok", 200}, {"Bearer tok", 200}} {
		req, _ := http.NewRequest("GET", s.url+"/v1/stats", nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("Authorization %q: %d, want %d", c.auth, resp.StatusCode, c.want)
		}
	}
	s.stop(t)
}

// Issue 17 finding 9: nothing warned when the control API listened
// beyond loopback without a token.
func TestChaosWarnsWhenControlIsExposed(t *testing.T) {
	up := httptest.NewServer(http.NotFoundHandler())
	defer up.Close()
	s := startServer(t, nil, 2, "chaos", "--upstream", up.URL, "--listen", "127.0.0.1:0", "--control", "0.0.0.0:0",
		"--sched-slice", "0") // in process: the test binary's threads keep their slices
	if !strings.Contains(s.stderr.String(), "warning: the control API listens on") {
		t.Errorf("stderr %q, want a warning", s.stderr)
	}
	s.stop(t)
}

// Issue 17 finding 4: a sender endpoint pointed at the chaos proxy's
// control API, plus one event, injected a down rule. Even with no token
// on the control API, it refuses a signed webhook (403); the rules stay
// as they were.
func TestWebhookCannotSteerChaos(t *testing.T) {
	up := httptest.NewServer(http.NotFoundHandler())
	defer up.Close()
	p, err := chaos.New(chaos.Config{Upstream: up.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	control := httptest.NewServer(p.ControlHandler())
	defer control.Close()

	reports := make(chan sender.AttemptReport, 10)
	s, err := sender.Open(sender.Config{DataDir: t.TempDir(), OnAttempt: func(r sender.AttemptReport) { reports <- r }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pol := delivery.DefaultPolicy()
	pol.MaxAttempts, pol.Schedule = 1, []time.Duration{0}
	ep, err := s.CreateEndpoint(sender.EndpointSpec{URL: control.URL + "/v1/rules", Policy: &pol})
	if err != nil {
		t.Fatal(err)
	}
	s.Start(context.Background())
	rule := `{"name": "down", "fault": {"type": "down"}}`
	if _, err := s.Enqueue(context.Background(), []sender.EventSpec{{Endpoint: ep.ID, Type: "x", Payload: []byte(rule)}}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-reports:
		if r.Attempt.Status != http.StatusForbidden {
			t.Errorf("the control API answered the webhook %d, want 403", r.Attempt.Status)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no attempt")
	}
	if rules := p.Rules(); len(rules) != 0 {
		t.Fatalf("a webhook injected rules: %+v", rules)
	}
}
