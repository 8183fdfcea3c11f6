package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/reference/receiver"
	"github.com/hookrig/hookrig/reference/sender"
	"github.com/hookrig/hookrig/reference/sender/delivery"
	"github.com/hookrig/hookrig/sim/verdict"
)

const conformSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// conformArgs grade url with a small ack.under-load and without ack.fast
// (its 5 s load has no flag: the library's tests cover it).
func conformArgs(url string, extra ...string) []string {
	return append([]string{"conform", "receiver", url, "--secret", conformSecret,
		"--rate", "50", "--duration", "200ms", "--skip", "ack.fast"}, extra...)
}

func referenceReceiver(t *testing.T) *httptest.Server {
	t.Helper()
	rcv, err := receiver.New(receiver.Config{Secrets: []string{conformSecret}, Clock: clock.Real{}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rcv.Handler())
	t.Cleanup(func() { srv.Close(); rcv.Close() })
	return srv
}

func TestConformReceiverReferencePasses(t *testing.T) {
	srv := referenceReceiver(t)
	code, out, stderr := runOnce(context.Background(), "", conformArgs(srv.URL+"/hooks", "--receipts", srv.URL+"/v1/receipts")...)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q\n%s", code, stderr, out)
	}
	if !strings.Contains(out, "CONFORMS: receiver") || strings.Contains(out, " FAIL ") || !strings.Contains(out, "idempotency.processed-once  MUST    PASS") {
		t.Errorf("text report:\n%s", out)
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "conform.json")
	if code, _, stderr := runOnce(context.Background(), "", conformArgs(srv.URL, "--report", "json", "--out", file)...); code != exitOK {
		t.Fatalf("json: exit %d, %s", code, stderr)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var rep verdict.Conformance
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if err := rep.Validate(); err != nil || !rep.Passed || rep.Target != "receiver" || len(rep.Checks) != 17 {
		t.Errorf("json report: %v, passed %v, target %q, %d checks", err, rep.Passed, rep.Target, len(rep.Checks))
	}
	for _, key := range []string{`"schema"`, `"target"`, `"url"`, `"checks"`, `"id"`, `"level"`, `"status"`, `"evidence"`, `"spec"`, `"passed"`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("json report lacks %s", key)
		}
	}
}

// A receiver that acknowledges anything it is sent fails a MUST check:
// exit 1, and the JUnit report has a failing testcase for it.
func TestConformReceiverFailsAMust(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer srv.Close()
	code, out, stderr := runOnce(context.Background(), "", conformArgs(srv.URL, "--only", "signature.valid,signature.invalid-rejected", "--report", "junit")...)
	if code != exitAssertion {
		t.Fatalf("exit %d, want %d; stderr %q", code, exitAssertion, stderr)
	}
	var doc struct {
		Suites []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Skipped  int `xml:"skipped,attr"`
			Cases    []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("junit: %v\n%s", err, out)
	}
	s := doc.Suites[0]
	if s.Tests != 17 || s.Failures != 1 || s.Skipped != 15 {
		t.Errorf("tests %d failures %d skipped %d, want 17, 1, 15", s.Tests, s.Failures, s.Skipped)
	}
	for _, c := range s.Cases {
		if (c.Failure != nil) != strings.HasPrefix(c.Name, "signature.invalid-rejected") {
			t.Errorf("case %s: failure %v", c.Name, c.Failure)
		}
	}
}

func TestConformReceiverUsageErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String() + "/hook"
	ln.Close()
	srv := referenceReceiver(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{conformArgs(down), "preflight: " + down + " refused the connection"},
		{[]string{"conform", "receiver", srv.URL}, "--secret is required"},
		{conformArgs(srv.URL, "--only", "nope"), `no check "nope"`},
		{conformArgs(srv.URL, "--report", "pdf"), `unknown report format "pdf"`},
		{conformArgs(srv.URL, "--rate", "0"), "must be positive"},
		{[]string{"conform", "sender", "--secret", conformSecret}, "--secret and --trigger are required"},
		{[]string{"conform", "sender", "--secret", conformSecret, "--trigger", "GET ftp://x"}, "expected an http:// or https:// URL"},
		{[]string{"conform", "sender", "--secret", "whsec_!!", "--trigger", "POST http://127.0.0.1:9/emit"}, "invalid secret"},
		{[]string{"conform", "sender", "--secret", conformSecret, "--trigger", "POST http://127.0.0.1:9/emit", "--retry-window", "1s"}, "the trigger was refused for every event"},
	} {
		code, _, stderr := runOnce(context.Background(), "", tc.args...)
		if code != exitError || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args[1:], code, stderr, tc.want)
		}
	}
}

// hookrig conform sender grades the reference sender, driven through its
// ingest API by a trigger, with a short test schedule.
func TestConformSenderReferencePasses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	ln.Close() // conform sender listens there itself
	snd, err := sender.Open(sender.Config{DataDir: t.TempDir(), Clock: clock.Real{}, Seed: 1, DefaultPolicy: delivery.Policy{
		Backoff:     delivery.Backoff{Base: 100 * time.Millisecond, Factor: 2, Cap: 2 * time.Second},
		MaxAttempts: 12, MaxAge: time.Hour, RetryAfterMax: 10 * time.Second, AttemptTimeout: 2 * time.Second, Concurrency: 32,
	}})
	if err != nil {
		t.Fatal(err)
	}
	snd.Start(ctx)
	api := httptest.NewServer(snd.Handler())
	defer func() { api.Close(); snd.Close() }()
	ep, err := snd.CreateEndpoint(sender.EndpointSpec{URL: "http://" + listen + "/hook", Secret: conformSecret})
	if err != nil {
		t.Fatal(err)
	}
	trigger := `POST ` + api.URL + `/v1/events {"id":"{{.ID}}","endpoint":"` + ep.ID + `","type":"{{.Type}}","payload":{"n":{{.Seq}}}}`
	code, out, stderr := runOnce(ctx, "", "conform", "sender", "--listen", listen, "--secret", conformSecret, "--trigger", trigger,
		"--retry-window", "20s", "--retry-after", "1s", "--outage", "1s", "--settle", "1s")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q\n%s", code, stderr, out)
	}
	if !strings.Contains(out, "CONFORMS: sender http://"+listen) || strings.Contains(out, " FAIL ") || !strings.Contains(out, "gone.410-stops              MUST    PASS") {
		t.Errorf("text report:\n%s", out)
	}
	t.Log("\n" + out)
}

// conform sender --id-from is checked before anything listens: a source
// that is neither header:NAME nor json:PATH is a one-line error.
func TestConformSenderBadIDFrom(t *testing.T) {
	code, _, stderr := runOnce(context.Background(), "", "conform", "sender", "--secret", conformSecret,
		"--trigger", "POST http://127.0.0.1:1/emit {}", "--id-from", "body:hookrig_id")
	if code != exitError || !strings.Contains(stderr, `--id-from: id source "body:hookrig_id": want header:NAME`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
