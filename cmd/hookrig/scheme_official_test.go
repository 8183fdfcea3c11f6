package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// officialNodeDir is where the providers' npm packages are installed for
// the tests that check hookrig's signatures with them: $HOOKRIG_NPM_DIR,
// or a directory in the user cache, so that one install serves every run.
// The packages never enter the repository.
func officialNodeDir(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: the official-library check needs node >= 18 and npm", tool)
		}
	}
	dir := os.Getenv("HOOKRIG_NPM_DIR")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			t.Skipf("no user cache dir for the npm packages (%v); set HOOKRIG_NPM_DIR", err)
		}
		dir = filepath.Join(cache, "hookrig", "official-npm")
	}
	pkgs := []string{"stripe", "@octokit/webhooks-methods", "svix", "standardwebhooks"}
	missing := false
	for _, p := range pkgs {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", p, "package.json")); err != nil {
			missing = true
		}
	}
	if missing {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"private":true}`), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "npm", append([]string{"install", "--no-audit", "--no-fund", "--silent"}, pkgs...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("npm install %s in %s failed (offline?): %v: %s", strings.Join(pkgs, " "), dir, err, out)
		}
	}
	return dir
}

// officialReceiver starts reference/webhook/testdata/official-receiver.mjs,
// which verifies with the provider's own library, and returns its URL.
func officialReceiver(t *testing.T, scheme, secret string) string {
	t.Helper()
	dir := officialNodeDir(t)
	script, err := filepath.Abs("../../reference/webhook/testdata/official-receiver.mjs")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", script, "--scheme", scheme, "--secret", secret, "--port", "0")
	cmd.Env = append(os.Environ(), "VECTORS_NODE_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	sc := bufio.NewScanner(out)
	if !sc.Scan() {
		t.Fatalf("official receiver printed nothing; stderr: %s", stderr.String())
	}
	url, ok := strings.CutPrefix(sc.Text(), "listening ")
	if !ok {
		t.Fatalf("official receiver said %q, want \"listening http://...\"", sc.Text())
	}
	return url
}

// benchOK runs hookrig bench at url quietly and fails the test unless it
// exits 0.
func benchOK(t *testing.T, url string, args ...string) {
	t.Helper()
	code, stdout, stderr := runOnce(context.Background(), "", append([]string{"bench", url, "-q"}, args...)...)
	if code != exitOK {
		t.Fatalf("bench exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// TestBenchSchemeOfficialReceiver: hookrig bench --scheme NAME against a
// receiver that verifies with the provider's official library (stripe's
// constructEvent, @octokit/webhooks-methods' verify, svix's
// Webhook.verify): every request, the preflight probe included, verifies.
func TestBenchSchemeOfficialReceiver(t *testing.T) {
	for _, tc := range []struct{ scheme, secret string }{
		{"stripe", "whsec_hookrig_stripe_test_secret"},
		{"github", "It's a Secret to Everybody"},
		{"svix", recvTestSecret},
	} {
		t.Run(tc.scheme, func(t *testing.T) {
			url := officialReceiver(t, tc.scheme, tc.secret)
			const n = 300
			benchOK(t, url+"/webhooks", "--requests", "300", "--concurrency", "4", "--timeout", "10s", "--scheme", tc.scheme, "--secret", tc.secret)
			var st struct {
				Verified  int    `json:"verified"`
				Refused   int    `json:"refused"`
				LastError string `json:"last_error"`
			}
			apiCall(t, http.DefaultClient, http.MethodGet, url+"/stats", "", http.StatusOK, &st)
			// n requests and the preflight probe.
			if st.Verified != n+1 || st.Refused != 0 {
				t.Errorf("%s's official library verified %d and refused %d (last error %q), want %d and 0",
					tc.scheme, st.Verified, st.Refused, st.LastError, n+1)
			}
		})
	}
}

// TestBenchSchemeReferenceReceiver: bench --scheme stripe against hookrig
// receiver --scheme stripe: every event is accepted once, deduplicated by
// the id in the body.
func TestBenchSchemeReferenceReceiver(t *testing.T) {
	const secret = "whsec_hookrig_stripe_test_secret"
	s := startServer(t, nil, 1, "receiver", "--listen", "127.0.0.1:0", "--scheme", "stripe", "--secret", secret, "-q")
	benchOK(t, s.url+"/webhooks", "--requests", "200", "--concurrency", "4", "--duplicates", "0.1", "--scheme", "stripe", "--secret", secret)
	var st struct {
		Received   int `json:"received"`
		Unique     int `json:"unique"`
		Duplicates int `json:"duplicates"`
		Rejected   int `json:"rejected"`
	}
	apiCall(t, http.DefaultClient, http.MethodGet, s.url+"/v1/stats", "", http.StatusOK, &st)
	if st.Received != 201 || st.Rejected != 0 || st.Unique+st.Duplicates != 201 || st.Duplicates == 0 {
		t.Errorf("receiver stats %+v, want 201 received (200 and the probe), none rejected, some duplicates", st)
	}
}

// TestRunSenderSchemeOfficialReceiver: hookrig's reference sender with an
// endpoint of "scheme": NAME plays Stripe (or GitHub) to a receiver built
// on the official library, through the chaos proxy: nothing is lost, and
// the library refused nothing.
func TestRunSenderSchemeOfficialReceiver(t *testing.T) {
	for _, tc := range []struct{ scheme, secret string }{
		{"stripe", "whsec_hookrig_stripe_run_secret"},
		{"github", "It's a Secret to Everybody"},
	} {
		t.Run(tc.scheme, func(t *testing.T) {
			url := officialReceiver(t, tc.scheme, tc.secret)
			path := writeScenario(t, "quick.yaml", quickScenario)
			code, out, stderr := runOnce(context.Background(), "", "run", path, "-q", "--report", "json",
				"--receiver", url+"/webhooks", "--scheme", tc.scheme, "--secret", tc.secret)
			if code != exitOK {
				t.Fatalf("exit %d\nstderr:\n%s\nstdout:\n%s", code, stderr, out)
			}
			var res struct {
				Events struct{ Accepted, Delivered, Lost int }
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatal(err)
			}
			var st struct{ Verified, Refused int }
			apiCall(t, http.DefaultClient, http.MethodGet, url+"/stats", "", http.StatusOK, &st)
			// 10 events and the preflight probe; the faulted attempt never
			// reaches the receiver.
			if res.Events.Accepted != 10 || res.Events.Delivered != 10 || res.Events.Lost != 0 || st.Verified != 11 || st.Refused != 0 {
				t.Errorf("events %+v, official library verified %d refused %d; want 10 delivered, 11 verified, 0 refused", res.Events, st.Verified, st.Refused)
			}
		})
	}
}
