package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/reference/webhook"
)

const probeSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// webhookEndpoint is a small endpoint as a user would write one: it
// verifies the signature (401 when it does not match), answers 404 off its
// path, and counts what it was sent.
func webhookEndpoint(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	v, err := webhook.NewVerifier(0, probeSecret)
	if err != nil {
		t.Fatal(err)
	}
	var got atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /webhooks", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := v.Verify(r.Header, body, time.Now()); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if r.Header.Get(ProbeHeader) != "1" || !strings.HasPrefix(r.Header.Get(webhook.HeaderID), ProbeIDPrefix) ||
			!strings.Contains(string(body), `"type":"hookrig.probe"`) {
			http.Error(w, "not a probe", http.StatusBadRequest)
			return
		}
		got.Add(1)
	})
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/webhooks", http.StatusPermanentRedirect)
	})
	mux.HandleFunc("/broken", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "database is down\ntraceback...", http.StatusInternalServerError)
	})
	mux.HandleFunc("/forbidden", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &got
}

func signer(t *testing.T, secret string) *webhook.Signer {
	t.Helper()
	s, err := webhook.NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// nxdomainResolver is a resolver whose DNS server, on 127.0.0.1, answers
// every question "no such name", so a DNS failure is tested without
// leaving the machine.
func nxdomainResolver(t *testing.T) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 12 {
				continue
			}
			// The question echoed back, flags "response, recursion
			// available, NXDOMAIN", no answers.
			msg := append([]byte(nil), buf[:n]...)
			msg[2], msg[3] = 0x81, 0x83
			msg[6], msg[7], msg[8], msg[9], msg[10], msg[11] = 0, 0, 0, 0, 0, 0
			pc.WriteTo(msg, from)
		}
	}()
	addr := pc.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}

func TestProbeClassifiesEndpoints(t *testing.T) {
	srv, received := webhookEndpoint(t)
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	// A listener nobody accepts from: the kernel completes the handshake
	// and the request is sent, but no answer ever comes.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })

	// Each reads the whole probe before it fails, so the failure is the
	// answer's, not a race with the request.
	reset := rawServer(t, "<reset>")
	hangUp := rawServer(t, "<close>")
	notHTTP := rawServer(t, "SSH-2.0-OpenSSH_9.6\r\n<close>")

	dnsClient := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{Resolver: nxdomainResolver(t)}).DialContext}}

	good, wrong := signer(t, probeSecret), signer(t, "whsec_"+"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	cases := []struct {
		name   string
		url    string
		cfg    ProbeConfig
		cause  ProbeCause
		status int
		msg    string // in String()
	}{
		{"healthy", srv.URL + "/webhooks", ProbeConfig{Signer: good}, ProbeOK, 200, "answered POST 200 OK"},
		{"nothing listening", "http://" + closedAddr + "/webhooks", ProbeConfig{Signer: good}, ProbeRefused, 0,
			"preflight: http://" + closedAddr + "/webhooks refused the connection (nothing listening?)"},
		{"no such path", srv.URL + "/webhook", ProbeConfig{Signer: good}, ProbeStatus, 404, "404 Not Found in"},
		{"wrong secret", srv.URL + "/webhooks", ProbeConfig{Signer: wrong}, ProbeStatus, 401, "the secret is probably wrong"},
		{"unsigned", srv.URL + "/webhooks", ProbeConfig{}, ProbeStatus, 401, "the probe was unsigned"},
		{"forbidden", srv.URL + "/forbidden", ProbeConfig{Signer: good}, ProbeStatus, 403, "the secret is probably wrong"},
		{"server error", srv.URL + "/broken", ProbeConfig{Signer: good}, ProbeStatus, 500, `its logs should say why (it said "database is down traceback...")`},
		{"redirect", srv.URL + "/old", ProbeConfig{Signer: good}, ProbeStatus, 308, "a redirect to " + srv.URL + "/webhooks, not followed"},
		{"silent", "http://" + silent.Addr().String() + "/webhooks", ProbeConfig{Signer: good, Timeout: 100 * time.Millisecond}, ProbeTimeout, 0,
			"did not answer within 100ms (timeout)"},
		{"reset", "http://" + reset + "/webhooks", ProbeConfig{Signer: good}, ProbeReset, 0, "reset the connection before answering"},
		{"hang up", "http://" + hangUp + "/webhooks", ProbeConfig{Signer: good}, ProbeClosed, 0, "closed the connection without answering"},
		{"not HTTP", "http://" + notHTTP + "/webhooks", ProbeConfig{Signer: good}, ProbeProtocol, 0, "answered something that is not HTTP"},
		{"TLS to plain HTTP", "https://" + strings.TrimPrefix(srv.URL, "http://") + "/webhooks", ProbeConfig{Signer: good}, ProbeTLS, 0,
			"does not speak TLS on this port; is it http:// rather than https://?"},
		{"untrusted certificate", tlsSrv.URL + "/webhooks", ProbeConfig{Signer: good}, ProbeTLS, 0, "certificate"},
		{"trusted certificate", tlsSrv.URL + "/webhooks", ProbeConfig{Signer: good, Client: tlsSrv.Client()}, ProbeOK, 200, "answered POST 200 OK"},
		{"insecure", tlsSrv.URL + "/webhooks", ProbeConfig{Signer: good, Insecure: true}, ProbeOK, 200, "answered POST 200 OK"},
		{"dns", "http://hooks.example.invalid/webhooks", ProbeConfig{Signer: good, Client: dnsClient}, ProbeDNS, 0,
			"http://hooks.example.invalid/webhooks: the host name does not resolve (DNS: no such host)"},
		// HEAD carries no event: a POST-only handler's 405 shows the path
		// is there; a missing path is still a missing path.
		{"HEAD on a POST-only path", srv.URL + "/webhooks", ProbeConfig{Method: "head"}, ProbeOK, 405, "a HEAD probe is unsigned"},
		{"HEAD on no such path", srv.URL + "/nope", ProbeConfig{Method: http.MethodHead}, ProbeStatus, 404, "no such path"},
		{"OPTIONS", srv.URL + "/broken", ProbeConfig{Method: http.MethodOptions}, ProbeStatus, 500, "answered OPTIONS 500"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Clock = clock.Real{}
			res, err := Probe(context.Background(), c.url, c.cfg)
			if err != nil {
				t.Fatalf("error %v", err)
			}
			if res.Cause != c.cause || res.Status != c.status {
				t.Errorf("cause %s, status %d; want %s, %d (detail %q)", res.Cause, res.Status, c.cause, c.status, res.Detail)
			}
			line := res.String()
			t.Log(line)
			if !strings.Contains(line, c.msg) || !strings.HasPrefix(line, "preflight: "+c.url) || strings.Contains(line, "\n") {
				t.Errorf("message %q; want one line naming %s and containing %q", line, c.url, c.msg)
			}
			if res.OK() != (c.cause == ProbeOK) || (res.Err() == nil) != res.OK() || (res.Err() != nil && res.Err().Error() != line) {
				t.Errorf("OK %v, Err %v for cause %s", res.OK(), res.Err(), res.Cause)
			}
		})
	}
	// One probe in the whole table was verified and accepted by the
	// endpoint's path (the healthy one); the redirect was not followed.
	if n := received.Load(); n != 1 {
		t.Errorf("the endpoint accepted %d probes, want 1 (healthy)", n)
	}
}

// The probe's time is the clock's: a fake clock that does not move gives
// an elapsed time of zero, and stamps the webhook with its own time (which
// the endpoint then refuses as too old).
func TestProbeTakesItsTimeFromTheClock(t *testing.T) {
	srv, _ := webhookEndpoint(t)
	fake := clock.NewFake(time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC))
	res, err := Probe(context.Background(), srv.URL+"/webhooks", ProbeConfig{Clock: fake, Signer: signer(t, probeSecret)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Elapsed != 0 || res.Status != http.StatusUnauthorized {
		t.Errorf("elapsed %s, status %d; want 0 and 401 (a 2001 timestamp)", res.Elapsed, res.Status)
	}
}

// steppingClock reads a step later at every look, so the probe's elapsed
// time is known without waiting for it.
type steppingClock struct {
	clock.Real
	now  *time.Time
	step time.Duration
}

func (c steppingClock) Now() time.Time { *c.now = c.now.Add(c.step); return *c.now }

func TestProbeNamesASlowAnswer(t *testing.T) {
	srv, _ := webhookEndpoint(t)
	now := time.Now()
	clk := steppingClock{now: &now, step: 3 * time.Second}
	res, err := Probe(context.Background(), srv.URL+"/webhooks", ProbeConfig{Clock: clk, Signer: signer(t, probeSecret), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() || !res.Slow() || res.Elapsed != 3*time.Second || !strings.Contains(res.String(), "in 3s: slow, over half the 5s timeout") {
		t.Errorf("ok %v, slow %v, elapsed %s: %s", res.OK(), res.Slow(), res.Elapsed, res)
	}
}

func TestProbeInputErrors(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		url  string
		cfg  ProbeConfig
		want string
	}{
		{"ftp://x/y", ProbeConfig{Clock: clock.Real{}}, `"ftp://x/y" is not an http:// or https:// URL`},
		{"127.0.0.1:3999", ProbeConfig{Clock: clock.Real{}}, "is not an http:// or https:// URL"},
		{"http://127.0.0.1:1/", ProbeConfig{}, "no clock"},
		{"http://127.0.0.1:1/", ProbeConfig{Clock: clock.Real{}, Method: "DELETE"}, `method "DELETE"; expected POST, HEAD or OPTIONS`},
		{"http://127.0.0.1:1/", ProbeConfig{Clock: clock.Real{}, Header: []Header{{Name: "Bad Name", Value: "x"}}}, "header name"},
	} {
		if _, err := Probe(ctx, c.url, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %+v: error %v, want %q", c.url, c.cfg, err, c.want)
		}
	}
	// A cancelled run is not a verdict on the endpoint.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	srv, _ := webhookEndpoint(t)
	if _, err := Probe(cctx, srv.URL+"/webhooks", ProbeConfig{Clock: clock.Real{}}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled probe: %v, want context.Canceled", err)
	}
}

// A preflight before a run: one signed probe webhook, and a one-line
// reason to stop when the endpoint will not take webhooks.
func ExampleProbe() {
	endpoint := httptest.NewServer(http.NotFoundHandler()) // the path is wrong
	defer endpoint.Close()
	sign, _ := webhook.NewSigner(probeSecret)
	res, err := Probe(context.Background(), endpoint.URL+"/webhooks", ProbeConfig{Clock: clock.Real{}, Signer: sign, Timeout: 2 * time.Second})
	if err != nil {
		fmt.Println(err) // not a probe at all: a malformed URL, say
		return
	}
	fmt.Println(res.Cause, res.Status, res.OK())
	// Output: status 404 false
}
