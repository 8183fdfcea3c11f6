package sender

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/hookrig/hookrig/reference/sender/delivery"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"github.com/hookrig/hookrig/internal/apitest"
	"github.com/hookrig/hookrig/internal/clock"
)

// Issue 17 finding 4: the API took text/plain (any web page can post it
// through the browser) and had no token. With APIToken set every route
// wants it, the scheme in any case; bodies must be JSON; a page of
// another origin is refused.
func TestAPITokenAndJSONOnly(t *testing.T) {
	h := openHarness(t, t.TempDir(), Config{APIToken: "tok"})
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	body := `{"url": "http://127.0.0.1:9/hooks"}`
	js := "application/json"
	cases := []struct {
		name   string
		header map[string]string
		want   int
		says   string
	}{
		{"no token", map[string]string{"Content-Type": js}, 401, "bearer token"},
		{"wrong token", map[string]string{"Content-Type": js, "Authorization": "Bearer nope"}, 401, "bearer token"},
		{"basic scheme", map[string]string{"Content-Type": js, "Authorization": "Basic tok"}, 401, "bearer token"},
		{"text/plain", map[string]string{"Content-Type": "text/plain", "Authorization": "Bearer tok"}, 415, "want application/json"},
		{"form", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Bearer tok"}, 415, "want application/json"},
		{"foreign origin", map[string]string{"Content-Type": js, "Authorization": "Bearer tok", "Origin": "https://evil.example"}, 403, "cross-origin"},
		{"lower-case bearer", map[string]string{"Content-Type": js, "Authorization": "bearer tok"}, 201, `"id":"ep_`},
		{"upper-case bearer", map[string]string{"Content-Type": "application/json; charset=utf-8", "Authorization": "BEARER tok"}, 201, `"id":"ep_`},
	}
	for _, c := range cases {
		if code, got := apitest.Request(t, "POST", srv.URL+"/v1/endpoints", body, c.header); code != c.want || !strings.Contains(got, c.says) {
			t.Errorf("%s: %d %s, want %d saying %q", c.name, code, got, c.want, c.says)
		}
	}
	if eps, _ := h.Endpoints(); len(eps) != 2 {
		t.Errorf("%d endpoints created, want the 2 authorised ones", len(eps))
	}
	if code, got := apitest.Request(t, "GET", srv.URL+"/v1/nowhere", "", nil); code != 401 {
		t.Errorf("an unknown route without the token: %d %s (404 would tell routes apart)", code, got)
	}
}

// Issue 17 finding 4: POST /v1/endpoints accepted link-local, metadata,
// zone, IPv4-mapped, odd-IPv4 and credentialed URLs. Each is refused
// with a 400 naming the rule; loopback and private are refused only
// when the API is exposed (RefusePrivate), naming the flag.
func TestEndpointTargetsRefused(t *testing.T) {
	always := []struct{ url, says string }{
		{"http://169.254.169.254/latest/meta-data/", "169.254.0.0/16"},
		{"http://[fe80::1%25eth0]/x", "zone"},
		{"http://[fe80::1]/x", "fe80::/10"},
		{"http://[::ffff:169.254.169.254]/x", "169.254.0.0/16"},
		{"http://[::ffff:a9fe:a9fe]/x", "169.254.0.0/16"},
		{"http://0.0.0.0:8080/x", "0.0.0.0/8"},
		{"http://[::]:8080/x", "unspecified"},
		{"http://2130706433/x", "dotted quad"},
		{"http://0x7f.1/x", "dotted quad"},
		{"http://0177.0.0.1/x", "dotted quad"},
		{"http://user:pass@127.0.0.1:9/x", "credentials"},
		{"http://[fd00:ec2::254]/x", "metadata"},
		{"http://[64:ff9b::a9fe:a9fe]/x", "169.254.0.0/16"},
	}
	for _, refuse := range []bool{false, true} {
		h := openHarness(t, t.TempDir(), Config{RefusePrivate: refuse})
		for _, c := range always {
			_, err := h.CreateEndpoint(EndpointSpec{URL: c.url})
			if ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), c.says) {
				t.Errorf("refuse private %v: %s: %v, want invalid saying %q", refuse, c.url, err, c.says)
			}
			if err != nil && strings.Contains(err.Error(), "pass") {
				t.Errorf("%s: the error shows the password: %v", c.url, err)
			}
		}
		for _, u := range []string{"http://127.0.0.1:9/x", "http://localhost:9/x", "http://10.1.2.3/x", "http://192.168.1.1/x", "http://[::1]:9/x", "http://[fd12::1]/x"} {
			_, err := h.CreateEndpoint(EndpointSpec{URL: u})
			if refuse && (ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), AllowPrivateFlag)) {
				t.Errorf("exposed: %s: %v, want invalid naming %s", u, err, AllowPrivateFlag)
			}
			if !refuse && err != nil {
				t.Errorf("loopback API: %s: %v, want it accepted", u, err)
			}
		}
	}
}

// Names are judged again at dial time, on the address actually dialled:
// a name that resolved to a public address when the endpoint was made
// and to a refused one later (DNS rebinding) is stopped by the dialer.
// "localhost" stands in for the rebound name.
func TestDialTimeGuard(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer up.Close()
	_, port, _ := net.SplitHostPort(up.Listener.Addr().String())
	type transport interface {
		http.RoundTripper
		CloseIdleConnections()
	}
	// Both transports the sender makes: net/http's (for https) and its
	// own (for http, wire.go).
	transports := map[string]func(g targetGuard) transport{
		"net/http": func(g targetGuard) transport { return newGuardedTransport(1, g) },
		"wire":     func(g targetGuard) transport { return newWireTransport(1, g) },
	}
	for name, newTr := range transports {
		for _, host := range []string{"127.0.0.1", "localhost"} {
			tr := newTr(targetGuard{refusePrivate: true})
			_, err := (&http.Client{Transport: tr}).Get("http://" + net.JoinHostPort(host, port) + "/")
			var refused *refusedAddrError
			if !errors.As(err, &refused) || !strings.Contains(err.Error(), AllowPrivateFlag) {
				t.Errorf("%s: %s with private refused: %v, want the dialer to refuse", name, host, err)
			}
			tr.CloseIdleConnections()
		}
		tr := newTr(targetGuard{})
		resp, err := (&http.Client{Transport: tr}).Get(up.URL)
		if err != nil {
			t.Fatalf("%s: loopback allowed: %v", name, err)
		}
		resp.Body.Close()
		tr.CloseIdleConnections()
		// Link-local is refused even when private addresses are
		// allowed; the dial never leaves the host.
		_, err = (&http.Client{Transport: newTr(targetGuard{})}).Get("http://169.254.169.254:1/")
		if !errors.As(err, new(*refusedAddrError)) {
			t.Errorf("%s: metadata address: %v, want the dialer to refuse", name, err)
		}
	}
}

// Issue 17 finding 4: non-2xx answers were readable through GET
// /v1/events/{id} and transport errors named open and closed ports.
// The API shows the status and the error class only.
func TestAttemptDetailsNotShown(t *testing.T) {
	const secretBody = "root:x:0:0:internal-only"
	ep := newEndpoint(t, clock.Real{}, func(h hit, w http.ResponseWriter, r *http.Request) {
		http.Error(w, secretBody, http.StatusForbidden)
	})
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedURL := "http://" + closed.Addr().String() + "/x"
	closed.Close() // nothing listens there now: the attempt is refused
	h := openHarness(t, t.TempDir(), Config{})
	e1 := h.endpoint(t, ep.srv.URL, quickPolicy(1))
	e2 := h.endpoint(t, closedURL, quickPolicy(1))
	h.Start(context.Background())
	ids := h.enqueue(t, ev(e1.ID, "", `{}`), ev(e2.ID, "", `{}`))
	h.untilFinal(t, 2)
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	for i, id := range ids {
		code, body := apitest.Request(t, "GET", srv.URL+"/v1/events/"+id, "", nil)
		if code != 200 || strings.Contains(body, "internal-only") || strings.Contains(body, "connect:") || strings.Contains(body, closed.Addr().String()) {
			t.Errorf("event %d shows what the endpoint said: %s", i, body)
		}
		var e Event
		json.Unmarshal([]byte(body), &e)
		if len(e.Attempts) != 1 || (i == 0 && e.Attempts[0].Status != 403) || (i == 1 && e.Attempts[0].Err != delivery.ErrRefused) {
			t.Errorf("event %d: attempts %+v, want the status or the class", i, e.Attempts)
		}
	}
	_, list := apitest.Request(t, "GET", srv.URL+"/v1/events", "", nil)
	if strings.Contains(list, "internal-only") {
		t.Errorf("the event list shows answer bodies: %s", list)
	}
	// Kept in the outbox, capped, for the operator (OnAttempt, logs).
	if got, _ := h.Event(ids[0]); len(got.Attempts) != 1 || !strings.Contains(got.Attempts[0].Detail, "internal-only") || len(got.Attempts[0].Detail) > maxDetail+len("…") {
		t.Errorf("stored detail %+v", got.Attempts)
	}
}

// Issue 17 finding 6: attempt_timeout "1000h" and concurrency 1000 were
// accepted, so one endpoint pointed at a silent listener held every
// worker. Each bound answers 400 naming the field, the value and the
// bound.
func TestPolicyBounds(t *testing.T) {
	h := openHarness(t, t.TempDir(), Config{Workers: 8})
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	js := map[string]string{"Content-Type": "application/json"}
	cases := []struct{ policy, says string }{
		{`{"attempt_timeout": "1000h"}`, "policy.attempt_timeout: 1000h0m0s is over the bound of 1m0s"},
		{`{"concurrency": 1000}`, "policy.concurrency: 1000 is over the bound of 32"},
		{`{"max_attempts": 1000000}`, "policy.max_attempts: 1000000 is over the bound of 1000"},
		{`{"max_age": "100000h"}`, "policy.max_age: 100000h0m0s is over the bound of 720h0m0s"},
		{`{"backoff": {"base": "1s", "factor": 2, "cap": "9000h"}}`, "policy.backoff.cap: 9000h0m0s is over the bound of 24h0m0s"},
		{`{"schedule": ["0s", "48h"]}`, "policy.schedule[1]: 48h0m0s is over the bound of 24h0m0s"},
		{`{"breaker": {"failures": 5, "cooldown": "1000h"}}`, "policy.breaker.cooldown: 1000h0m0s is over the bound of 24h0m0s"},
	}
	for _, c := range cases {
		code, body := apitest.Request(t, "POST", srv.URL+"/v1/endpoints", `{"url": "http://127.0.0.1:9/x", "policy": `+c.policy+`}`, js)
		if code != 400 || !strings.Contains(body, c.says) {
			t.Errorf("%s: %d %s, want 400 saying %q", c.policy, code, body, c.says)
		}
	}
	code, body := apitest.Request(t, "POST", srv.URL+"/v1/endpoints", `{"url": "http://127.0.0.1:9/x", "policy": {"attempt_timeout": "60s", "concurrency": 8}}`, js)
	if code != 201 {
		t.Errorf("a policy at the bounds: %d %s", code, body)
	}
	// The operator's own default sets a floor under each bound.
	h2 := openHarness(t, t.TempDir(), Config{Workers: 8, MaxAttemptTimeout: 5 * 60e9})
	if _, err := h2.CreateEndpoint(EndpointSpec{URL: "http://127.0.0.1:9/x", Policy: &delivery.Policy{
		Backoff: delivery.Backoff{Base: 1e9, Factor: 2, Cap: 2e9}, MaxAttempts: 3, AttemptTimeout: 4 * 60e9, Concurrency: 1}}); err != nil {
		t.Errorf("attempt timeout under Config.MaxAttemptTimeout: %v", err)
	}
}

// Issue 10 item 4: domain errors carry a code, and one function maps
// codes to statuses.
func TestErrorCodesMapToStatuses(t *testing.T) {
	cases := []struct {
		err    error
		code   Code
		status int
	}{
		{invalid("x"), EINVALID, 400},
		{notFound("x"), ENOTFOUND, 404},
		{conflict("x"), ECONFLICT, 409},
		{outboxError(ErrClosed), EUNAVAILABLE, 503},
		{outboxError(fmt.Errorf("write outbox.db: %w", syscall.ENOSPC)), ENOSPACE, 507},
		{errors.New("boom"), EINTERNAL, 500},
	}
	for _, c := range cases {
		if got := ErrorCode(c.err); got != c.code {
			t.Errorf("%v: code %q, want %q", c.err, got, c.code)
		}
		w := httptest.NewRecorder()
		writeError(w, c.err)
		if w.Code != c.status {
			t.Errorf("%v: status %d, want %d", c.err, w.Code, c.status)
		}
		if (c.status == 507) != (w.Header().Get("Retry-After") != "") {
			t.Errorf("%v: Retry-After %q", c.err, w.Header().Get("Retry-After"))
		}
	}
}
