package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrig/hookrig/reference/receiver"
	"github.com/hookrig/hookrig/reference/webhook"
)

// convoyLikeSender is a sender written for the test, as Convoy behaves: it
// takes hookrig's id in the event data, mints an id of its own for every
// event (X-Convoy-Event-ID), signs with the convoy scheme and retries a
// failed delivery at once, up to five attempts, numbering none of them.
type convoyLikeSender struct {
	scheme webhook.Scheme
	minted atomic.Int64
	wg     sync.WaitGroup
}

func (cs *convoyLikeSender) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ev struct {
		Data json.RawMessage `json:"data"`
		URL  string          `json:"url"`
	}
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil || ev.URL == "" {
		http.Error(w, "want {\"data\":{...},\"url\":\"...\"}", http.StatusBadRequest)
		return
	}
	own := fmt.Sprintf("cv-%d", cs.minted.Add(1))
	body := []byte(`{"event_type":"hookrig.test","data":` + string(ev.Data) + `}`)
	w.WriteHeader(http.StatusAccepted)
	cs.wg.Go(func() {
		for range 5 {
			req, err := http.NewRequest(http.MethodPost, ev.URL, bytes.NewReader(body))
			if err != nil {
				return
			}
			req.Header.Set("Content-Type", "application/json")
			cs.scheme.Sign(req.Header, own, time.Now(), body)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					return
				}
			}
		}
	})
}

// TestRunTriggerIDFromJSON: run --trigger drives a sender that mints its own
// ids and signs with the convoy scheme; with --scheme convoy and --id-from
// json:data.hookrig_id the receiver verifies it, the proxy's fault rule
// finds event _4 by the body id, and the report loses nothing, names
// --id-from, and counts no receipt unexpected.
func TestRunTriggerIDFromJSON(t *testing.T) {
	const secret = "whsec_convoy_test_secret" // convoy keys with the string's bytes
	scheme, err := webhook.NewScheme("convoy", webhook.Options{Secrets: []string{secret}})
	if err != nil {
		t.Fatal(err)
	}
	cs := &convoyLikeSender{scheme: scheme}
	srv := httptest.NewServer(cs)
	t.Cleanup(func() { srv.Close(); cs.wg.Wait() })
	path := writeScenario(t, "quick.yaml", quickScenario)
	trigger := `POST ` + srv.URL + `/events {"data":{"hookrig_id":"{{.ID}}"},"url":"{{.Endpoint}}"}`
	code, out, stderr := runOnce(context.Background(), "", "run", path, "--report", "json", "-q",
		"--trigger", trigger, "--scheme", "convoy", "--secret", secret, "--id-from", "json:data.hookrig_id")
	if code != exitOK {
		t.Fatalf("exit %d\nstderr:\n%s\nstdout:\n%s", code, stderr, out)
	}
	var res struct {
		Passed   bool
		Replay   string
		Events   struct{ Accepted, Delivered, Lost, Unexpected, Duplicated int }
		Attempts struct {
			Total   int
			Faulted int
		}
		Receipts struct{ Unexpected int }
		Notes    []string
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s", err, out)
	}
	if !res.Passed || res.Events.Accepted != 10 || res.Events.Delivered != 10 || res.Events.Lost != 0 ||
		res.Events.Unexpected != 0 || res.Receipts.Unexpected != 0 || res.Attempts.Total != 11 || res.Attempts.Faulted != 1 {
		t.Errorf("result %+v", res)
	}
	if got := cs.minted.Load(); got != 10 {
		t.Errorf("the sender minted %d ids, want 10", got)
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), "--id-from json:data.hookrig_id") {
		t.Errorf("notes do not name --id-from: %q", res.Notes)
	}
	if !strings.Contains(res.Replay, "--scheme convoy") || !strings.Contains(res.Replay, "--id-from json:data.hookrig_id") {
		t.Errorf("replay %q lacks --scheme and --id-from", res.Replay)
	}
}

// TestRunSchemeReferenceEnds: with --scheme the reference sender signs and
// the reference receiver verifies as the provider does, and the proxy's
// rule finds event _4 by the scheme's id: stripe (id in the body) and
// slack (no id: matched by --id-from json:id) lose nothing.
func TestRunSchemeReferenceEnds(t *testing.T) {
	path := writeScenario(t, "quick.yaml", quickScenario)
	for _, args := range [][]string{{"--scheme", "stripe"}, {"--scheme", "slack", "--id-from", "json:id"}} {
		code, out, stderr := runOnce(context.Background(), "", append([]string{"run", path, "-q", "--report", "json"}, args...)...)
		var res struct {
			Passed   bool
			Events   struct{ Accepted, Delivered, Lost, Unexpected int }
			Attempts struct{ Total, Faulted int }
		}
		if code != exitOK || json.Unmarshal([]byte(out), &res) != nil {
			t.Fatalf("%v: exit %d\nstderr:\n%s\nstdout:\n%s", args, code, stderr, out)
		}
		if !res.Passed || res.Events.Delivered != 10 || res.Events.Lost != 0 || res.Events.Unexpected != 0 || res.Attempts.Faulted != 1 {
			t.Errorf("%v: %+v", args, res)
		}
	}
	code, _, stderr := runOnce(context.Background(), "", "run", path, "-q", "--scheme", "slack")
	if code != exitError || !strings.Contains(stderr, "--id-from") {
		t.Errorf("slack without --id-from: exit %d, %s", code, stderr)
	}
}

// TestRunScenarioScheme: a scenario file's scheme: github makes the run
// sign as GitHub does: the reference receiver, put behind the proxy with
// --receiver and verifying github only, refuses nothing and the run
// passes. --scheme overrides the file, and an unknown name in the file is
// a positioned error that lists the known ones.
func TestRunScenarioScheme(t *testing.T) {
	const secret = "github-scenario-secret"
	path := writeScenario(t, "quick-github.yaml", "scheme: github\n"+quickScenario)
	rcv, url := serveReceiver(t, receiver.Config{Scheme: "github", Secrets: []string{secret}})
	code, out, stderr := runOnce(context.Background(), "", "run", path, "-q", "--report", "json",
		"--receiver", url+"/webhooks", "--secret", secret)
	var res struct {
		Passed bool
		Replay string
		Events struct{ Accepted, Delivered, Lost int }
		Notes  []string
	}
	if code != exitOK || json.Unmarshal([]byte(out), &res) != nil {
		t.Fatalf("exit %d\nstderr:\n%s\nstdout:\n%s", code, stderr, out)
	}
	st := rcv.Stats()
	if !res.Passed || res.Events.Delivered != 10 || res.Events.Lost != 0 || st.Rejected != 0 || st.Unique < 10 {
		t.Errorf("result %+v, receiver stats %+v", res, st)
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), "signature scheme github") || strings.Contains(res.Replay, "--scheme") {
		t.Errorf("notes %q, replay %q: want the file's scheme noted and not repeated as a flag", res.Notes, res.Replay)
	}

	code, out, stderr = runOnce(context.Background(), "", "run", path, "-q", "--report", "json", "--scheme", "stripe")
	res.Notes = nil
	if code != exitOK || json.Unmarshal([]byte(out), &res) != nil || !res.Passed {
		t.Fatalf("--scheme stripe over the file's github: exit %d\nstderr:\n%s\nstdout:\n%s", code, stderr, out)
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), "signature scheme stripe") {
		t.Errorf("--scheme did not override the file: notes %q", res.Notes)
	}

	bad := writeScenario(t, "bad-scheme.yaml", "scheme: gitlab\n"+quickScenario)
	code, _, stderr = runOnce(context.Background(), "", "run", bad, "-q")
	want := bad + `:1:9: scheme: unknown signature scheme "gitlab"; expected one of ` + strings.Join(webhook.SchemeNames(), ", ")
	if code != exitError || !strings.Contains(stderr, want) {
		t.Errorf("unknown scheme: exit %d, stderr %q; want %q", code, stderr, want)
	}
}

// TestSimScenarioScheme: hookrig sim runs a scenario's scheme as it runs
// standard (virtual time signs nothing) and says so in the report; a
// scheme without an event id and no id_from is refused, as run refuses it.
func TestSimScenarioScheme(t *testing.T) {
	std := writeScenario(t, "quick.yaml", quickScenario)
	gh := writeScenario(t, "quick-github.yaml", "scheme: github\n"+quickScenario)
	_, want, _ := runOnce(context.Background(), "", "sim", std, "-q", "--report", "json")
	code, got, stderr := runOnce(context.Background(), "", "sim", gh, "-q", "--report", "json")
	var a, b struct {
		Events    map[string]any
		TraceHash string `json:"trace_hash"`
		Notes     []string
	}
	if code != exitOK || json.Unmarshal([]byte(want), &a) != nil || json.Unmarshal([]byte(got), &b) != nil {
		t.Fatalf("exit %d\nstderr:\n%s\nstdout:\n%s", code, stderr, got)
	}
	if a.TraceHash == "" || a.TraceHash != b.TraceHash || fmt.Sprint(a.Events) != fmt.Sprint(b.Events) {
		t.Errorf("github ran differently from standard: %s %v vs %s %v", b.TraceHash, b.Events, a.TraceHash, a.Events)
	}
	if !strings.Contains(strings.Join(b.Notes, "\n"), "signature scheme github, event ids at header:X-GitHub-Delivery: virtual time does not sign") {
		t.Errorf("notes %q do not name the scheme", b.Notes)
	}
	slack := writeScenario(t, "quick-slack.yaml", "scheme: slack\n"+quickScenario)
	code, _, stderr = runOnce(context.Background(), "", "sim", slack, "-q")
	if code != exitError || !strings.Contains(stderr, "scheme slack carries no event id") || !strings.Contains(stderr, "id_from: json:PATH") {
		t.Errorf("slack without id_from: exit %d, %s", code, stderr)
	}
	withID := writeScenario(t, "quick-slack-id.yaml", "scheme: slack\nid_from: json:id\n"+quickScenario)
	if code, _, stderr = runOnce(context.Background(), "", "sim", withID, "-q"); code != exitOK {
		t.Errorf("slack with id_from: exit %d, %s", code, stderr)
	}
}
