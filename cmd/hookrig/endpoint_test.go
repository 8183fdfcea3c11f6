package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookrig/hookrig/loadgen"
	"github.com/hookrig/hookrig/reference/webhook"
)

// Issue 11: a user's own endpoint, first class. Every endpoint here is a
// real HTTP server on 127.0.0.1 written in the test, as a user's would be.

const endpointSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// userEndpoint verifies Standard Webhooks signatures with secret and
// answers 200; it counts the webhooks it got (the preflight probe apart)
// and calls onWebhook with the count.
type userEndpoint struct {
	*httptest.Server
	webhooks atomic.Int64
	probes   atomic.Int64
}

func newUserEndpoint(t *testing.T, secret string, onWebhook func(n int64)) *userEndpoint {
	t.Helper()
	v, err := webhook.NewVerifier(0, secret)
	if err != nil {
		t.Fatal(err)
	}
	ep := &userEndpoint{}
	ep.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := v.Verify(r.Header, body, time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if r.Header.Get(loadgen.ProbeHeader) != "" {
			ep.probes.Add(1)
			return
		}
		n := ep.webhooks.Add(1)
		if onWebhook != nil {
			onWebhook(n)
		}
	}))
	t.Cleanup(ep.Close)
	return ep
}

// runWithEnv runs hookrig in-process with the environment vars.
func runWithEnv(ctx context.Context, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errb syncBuffer
	code = run(ctx, args, newEnv(strings.NewReader(""), &out, &errb, func(k string) string { return vars[k] }))
	return code, out.String(), errb.String()
}

// closedURL is a URL on 127.0.0.1 where nothing listens.
func closedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/webhooks"
}

// Preflight: before any load, run and bench probe the endpoint once and
// stop with one line and exit 2 when it is down or rejects the secret.
func TestPreflightStopsBeforeAnyLoad(t *testing.T) {
	quick := writeScenario(t, "quick.yaml", quickScenario)
	down := closedURL(t)
	wrongKey := newUserEndpoint(t, "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", nil)
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"run, down", []string{"run", quick, "--receiver", down}, "refused the connection"},
		{"run, wrong secret", []string{"run", quick, "--receiver", wrongKey.URL + "/webhooks", "--secret-env", "S"}, "401"},
		{"bench, down", []string{"bench", down, "--rate", "10", "--duration", "1s"}, "refused the connection"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runWithEnv(context.Background(), map[string]string{"S": endpointSecret}, c.args...)
			if code != exitError || !strings.Contains(stderr, "preflight: ") || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and a preflight line saying %q", code, stderr, c.want)
			}
			if strings.Contains(stderr, "running") || stdout != "" || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("the run started, or more than one line:\nstdout %q\nstderr %q", stdout, stderr)
			}
		})
	}
	if n := wrongKey.webhooks.Load(); n != 0 {
		t.Errorf("the endpoint got %d webhooks after a failed preflight", n)
	}
	// --no-preflight runs anyway: the endpoint rejects every webhook.
	code, _, stderr := runWithEnv(context.Background(), map[string]string{"S": endpointSecret},
		"run", quick, "--receiver", wrongKey.URL+"/webhooks", "--secret-env", "S", "--no-preflight", "--drain", "500ms")
	if code != exitAssertion || !strings.Contains(stderr, "hookrig: running quick") {
		t.Errorf("--no-preflight: exit %d\n%s", code, stderr)
	}
}

// Finding 4: the replay line carries the endpoint, the proxy and the
// secret by reference, never its value.
func TestReplayCarriesEndpointAndSecretByReference(t *testing.T) {
	quick := writeScenario(t, "quick.yaml", quickScenario)
	ep := newUserEndpoint(t, endpointSecret, nil)
	url := ep.URL + "/webhooks"
	for _, c := range []struct {
		name   string
		args   []string
		vars   map[string]string
		replay string
	}{
		{"--secret-env", []string{"--secret-env", "MY_SECRET", "--proxy", "127.0.0.1:0"}, map[string]string{"MY_SECRET": endpointSecret},
			"hookrig run " + quick + " --seed 3 --receiver " + url + " --proxy 127.0.0.1:0 --secret-env MY_SECRET"},
		{"$HOOKRIG_SECRET", nil, map[string]string{"HOOKRIG_SECRET": endpointSecret},
			"hookrig run " + quick + " --seed 3 --receiver " + url + " --secret-env HOOKRIG_SECRET"},
		{"--secret", []string{"--secret", endpointSecret}, nil,
			"hookrig run " + quick + " --seed 3 --receiver " + url + " --secret-env HOOKRIG_SECRET"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"run", quick, "--receiver", url, "--report", "json"}, c.args...)
			code, stdout, stderr := runWithEnv(context.Background(), c.vars, args...)
			if code != exitOK {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			var res struct{ Replay string }
			if err := json.Unmarshal([]byte(stdout), &res); err != nil {
				t.Fatal(err)
			}
			if res.Replay != c.replay {
				t.Errorf("replay\n %q, want\n %q", res.Replay, c.replay)
			}
			secretKey := strings.TrimPrefix(endpointSecret, "whsec_")
			if strings.Contains(stdout, secretKey) || strings.Contains(stderr, secretKey) {
				t.Error("the secret's value was printed")
			}
		})
	}
}

// Finding 5: Ctrl-C during a run reports the drain once, with the time
// it was interrupted, never a negative drain. The endpoint cancels the
// run when its fifth webhook arrives.
func TestInterruptPrintsItsDrainOnce(t *testing.T) {
	long := writeScenario(t, "long.yaml", `name: long
load:
  phases:
    - {name: load, pacer: constant:50, duration: 20s}
faults:
  - name: later-outage
    fault: {type: down}
    after: 15s
    for: 5s
drain: {timeout: 20s}
assertions: [lost == 0]
`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ep := newUserEndpoint(t, endpointSecret, func(n int64) {
		if n == 5 {
			cancel()
		}
	})
	code, stdout, stderr := runWithEnv(ctx, map[string]string{"HOOKRIG_SECRET": endpointSecret},
		"run", long, "--receiver", ep.URL+"/webhooks")
	if code != exitError || !strings.Contains(stderr, "interrupted") || !strings.Contains(stdout, "Notes") {
		t.Fatalf("exit %d, want 2 with the report of what ran\nstderr:\n%s", code, stderr)
	}
	if n := strings.Count(stderr, "run: interrupted at "); n != 1 || strings.Contains(stderr, "draining -") {
		t.Errorf("the interrupt's drain was reported %d times (want once), or with a negative time:\n%s", n, stderr)
	}
	if !strings.Contains(stderr, "faults stopped, draining for up to 3s") {
		t.Errorf("the drain's bound is not the interrupt's:\n%s", stderr)
	}
}

// Finding 6: --out to a path that cannot be written fails before the
// run, naming the path the user gave (never a temporary file's).
func TestOutUnwritableFailsBeforeTheRun(t *testing.T) {
	dir := t.TempDir()
	quick := writeScenario(t, "quick.yaml", quickScenario)
	saved := filepath.Join(dir, "saved.json")
	if code, out, stderr := runCLI(t, "sim", quick, "--report", "json", "-q"); code != exitOK {
		t.Fatalf("sim: exit %d\n%s", code, stderr)
	} else if err := os.WriteFile(saved, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	ep := newUserEndpoint(t, endpointSecret, nil)
	bad := filepath.Join(dir, "missing", "report.xml")
	for _, args := range [][]string{
		{"run", quick, "--receiver", ep.URL + "/webhooks", "--out", bad},
		{"run", quick, "-o", dir}, // a directory
		{"sim", quick, "--out", bad},
		{"report", saved, "--out", bad},
		{"bench", ep.URL, "--rate", "10", "--out", bad},
	} {
		t.Run(args[0], func(t *testing.T) {
			code, stdout, stderr := runWithEnv(context.Background(), map[string]string{"HOOKRIG_SECRET": endpointSecret}, args...)
			target := args[len(args)-1]
			if code != exitError || !strings.Contains(stderr, target) || strings.Contains(stderr, ".report.xml.") {
				t.Errorf("exit %d, stderr %q; want exit 2 naming %s", code, stderr, target)
			}
			if strings.Contains(stderr, "running") || strings.Contains(stderr, "simulating") || stdout != "" {
				t.Errorf("something ran before the check:\nstdout %q\nstderr %q", stdout, stderr)
			}
		})
	}
	if n := ep.webhooks.Load() + ep.probes.Load(); n != 0 {
		t.Errorf("the endpoint got %d requests", n)
	}
}

// Finding 8: flag errors name the flag and the form expected, in one
// line, before anything starts; report reads a bench result.
func TestFlagMessagesBeforeAnythingStarts(t *testing.T) {
	quick := writeScenario(t, "quick.yaml", quickScenario)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", quick, "--seed", "abc"}, `--seed "abc": expected a whole number such as 7`},
		{[]string{"run", quick, "--secret", "whsec_bad!"}, "--secret: expected a Standard Webhooks secret, whsec_ followed by base64"},
		{[]string{"run", quick, "--secret-env", "NOPE"}, "--secret-env NOPE: the variable is not set"},
		{[]string{"run", quick, "--drain", "soon"}, `--drain "soon": expected a duration such as 500ms`},
		{[]string{"run", quick, "--assert", "lots == 0"}, `--assert: assertion "lots == 0"`},
		{[]string{"run", quick, "--duration", "-1s"}, "--duration: -1s: expected a positive duration"},
	} {
		t.Run(strings.Join(c.args[2:], " "), func(t *testing.T) {
			code, stdout, stderr := runCLI(t, c.args...)
			if code != exitError || !strings.Contains(stderr, c.want) || strings.Contains(stderr, "strconv") {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, stderr, c.want)
			}
			if strings.Count(strings.TrimSpace(stderr), "\n") != 0 || strings.Contains(stderr, "running") || stdout != "" {
				t.Errorf("not one line before anything started:\nstdout %q\nstderr %q", stdout, stderr)
			}
		})
	}
}

// Finding 10: one vocabulary. Every command that writes a report takes
// --report/-r and --out/-o, every one with progress -q/--quiet, every one
// with logs -v/--verbose; the old names still work, hidden, with a note.
func TestOneFlagVocabulary(t *testing.T) {
	root := newRootCmd(newEnv(strings.NewReader(""), io.Discard, io.Discard, noEnv))
	find := func(path ...string) *cobra.Command {
		c, _, err := root.Find(path)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, path := range [][]string{{"run"}, {"sim"}, {"report"}, {"bench"}, {"bench", "merge"}} {
		c := find(path...)
		for name, short := range map[string]string{"report": "r", "out": "o"} {
			if f := c.Flags().Lookup(name); f == nil || f.Shorthand != short {
				t.Errorf("hookrig %s: no --%s/-%s", strings.Join(path, " "), name, short)
			}
		}
	}
	for _, path := range [][]string{{"run"}, {"sim"}, {"bench"}, {"receiver"}, {"sender"}} {
		if f := find(path...).Flags().Lookup("quiet"); f == nil || f.Shorthand != "q" {
			t.Errorf("hookrig %s: no -q/--quiet", path[0])
		}
	}
	for _, path := range [][]string{{"run"}, {"chaos"}} {
		if f := find(path...).Flags().Lookup("verbose"); f == nil || f.Shorthand != "v" {
			t.Errorf("hookrig %s: no -v/--verbose", path[0])
		}
	}
	// Sizes as sizes: chaos --max-body 1MiB, a bare number is bytes.
	mb := find("chaos").Flags()
	for in, want := range map[string]string{"1MiB": "1048576", "64KiB": "65536", "2000": "2000"} {
		if err := mb.Set("max-body", in); err != nil || mb.Lookup("max-body").Value.String() != want {
			t.Errorf("chaos --max-body %s: %v, %s", in, err, mb.Lookup("max-body").Value)
		}
	}
	code, _, stderr := runCLI(t, "chaos", "--upstream", "http://127.0.0.1:1", "--max-body", "lots")
	if code != exitError || !strings.HasPrefix(stderr, `hookrig: --max-body "lots": want a positive size such as`) {
		t.Errorf("chaos --max-body lots: exit %d, stderr %q", code, stderr)
	}
	// A deprecated name works, says so on stderr, and stays out of --help.
	dir := t.TempDir()
	quick := writeScenario(t, "quick.yaml", quickScenario)
	code, saved, stderr := runCLI(t, "sim", quick, "-r", "json", "-q")
	if code != exitOK {
		t.Fatalf("sim: exit %d\n%s", code, stderr)
	}
	path := filepath.Join(dir, "r.json")
	os.WriteFile(path, []byte(saved), 0o644)
	code, out, stderr := runCLI(t, "report", path, "--format", "json")
	if code != exitOK || out != saved || !strings.Contains(stderr, "--format is deprecated") {
		t.Errorf("report --format: exit %d, same JSON %v, stderr %q", code, out == saved, stderr)
	}
	if _, help, _ := runCLI(t, "report", "--help"); strings.Contains(help, "--format") {
		t.Errorf("--help lists the deprecated --format:\n%s", help)
	}
}

// Finding 10: bench writes every report format, and hookrig report
// renders a saved bench result (it said: json: unknown field "version").
func TestBenchReportsAndReportRendersThem(t *testing.T) {
	ep := newUserEndpoint(t, endpointSecret, nil)
	dir := t.TempDir()
	saved := filepath.Join(dir, "bench.json")
	base := []string{"bench", ep.URL, "--rate", "100", "--requests", "20", "--secret", endpointSecret, "-q"}
	if code, _, stderr := runCLI(t, append(base, "--report", "json", "--out", saved)...); code != exitOK {
		t.Fatalf("bench --report json: exit %d\n%s", code, stderr)
	}
	code, junit, stderr := runCLI(t, append(base, "--report", "junit", "--max-p99", "1ns", "--min-success", "0.5")...)
	var suites struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal([]byte(junit), &suites); err != nil || code != exitAssertion || suites.Tests != 2 || suites.Failures != 1 {
		t.Errorf("bench --report junit: exit %d, %+v (%v)\n%s\n%s", code, suites, err, junit, stderr)
	}
	// 100/s for 1.5 s: the page has the latency percentiles and the rate
	// over time (a polyline of at least two points).
	html := append([]string{"bench", ep.URL, "--rate", "100", "--duration", "1500ms", "--secret", endpointSecret, "-q"}, "-r", "html")
	if code, page, _ := runCLI(t, html...); code != exitOK || !strings.Contains(page, "<!doctype html>") || !strings.Contains(page, "p99") ||
		!strings.Contains(page, `<polyline fill="none" stroke="#4a7fb0" stroke-width="2" points="`) {
		t.Errorf("bench --report html: exit %d\n%s", code, page)
	}
	if code, text, stderr := runCLI(t, "report", saved); code != exitOK || !strings.Contains(text, ep.URL) {
		t.Errorf("report bench.json: exit %d\n%s\n%s", code, text, stderr)
	}
	if code, again, _ := runCLI(t, "report", saved, "-r", "json"); code != exitOK || !json.Valid([]byte(again)) || !bytes.Contains([]byte(again), []byte(`"tool": "hookrig bench"`)) {
		t.Errorf("report bench.json -r json: exit %d\n%.300s", code, again)
	}
	if code, x, _ := runCLI(t, "report", saved, "-r", "junit"); code != exitOK || !strings.Contains(x, `<testcase name="completed"`) {
		t.Errorf("report bench.json -r junit: exit %d\n%s", code, x)
	}
}

// Finding 11: --assert replaces the scenario's assertions (+EXPR adds),
// --duration scales the load, and a run against the user's endpoint is
// judged by the endpoint profile, which the report names.
func TestAssertDurationAndEndpointProfile(t *testing.T) {
	// The built-ins' kind of threshold: right for the reference receiver,
	// not a reliability promise of the user's endpoint.
	strict := writeScenario(t, "strict.yaml", strings.Replace(quickScenario, "  - attempts.total == accepted + 1\n",
		"  - attempts.amplification == 1.0\n", 1))
	ep := newUserEndpoint(t, endpointSecret, nil)
	url := ep.URL + "/webhooks"
	type result struct {
		Passed     bool
		Replay     string
		Notes      []string
		Events     struct{ Accepted int }
		Assertions []struct {
			Expr   string
			Passed bool
		}
	}
	runJSON := func(t *testing.T, args ...string) (int, result) {
		t.Helper()
		code, stdout, stderr := runWithEnv(context.Background(), map[string]string{"HOOKRIG_SECRET": endpointSecret},
			append(args, "--report", "json", "-q")...)
		var r result
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("exit %d: %v\n%s", code, err, stderr)
		}
		return code, r
	}
	exprs := func(r result) string {
		var out []string
		for _, a := range r.Assertions {
			out = append(out, a.Expr)
		}
		return strings.Join(out, "; ")
	}
	t.Run("endpoint profile", func(t *testing.T) {
		code, r := runJSON(t, "run", strict, "--receiver", url)
		want := "lost == 0; dead_lettered == 0; dead_lettered_received == 0; pending == 0"
		if code != exitOK || exprs(r) != want || !strings.Contains(strings.Join(r.Notes, "\n"), "the endpoint profile") {
			t.Errorf("exit %d, assertions %q, notes %q; want exit 0, %q, and a note naming the profile", code, exprs(r), r.Notes, want)
		}
	})
	t.Run("profile plus a threshold", func(t *testing.T) {
		code, r := runJSON(t, "run", strict, "--receiver", url, "--assert", "+delivery.p99 < duration(\"1ns\")")
		if code != exitAssertion || len(r.Assertions) != 5 || r.Assertions[4].Passed {
			t.Errorf("exit %d, assertions %q", code, exprs(r))
		}
	})
	t.Run("assert replaces", func(t *testing.T) {
		code, r := runJSON(t, "run", strict, "--assert", "accepted == 10", "--assert", "lost == 0")
		if code != exitOK || exprs(r) != "accepted == 10; lost == 0" || !strings.Contains(r.Replay, "--assert 'accepted == 10' --assert 'lost == 0'") {
			t.Errorf("exit %d, assertions %q, replay %q", code, exprs(r), r.Replay)
		}
	})
	t.Run("duration", func(t *testing.T) {
		// constant:20 for 500ms is 10 events; scaled to 250ms, 5.
		code, r := runJSON(t, "sim", strict, "--duration", "250ms", "--assert", "+accepted == 5")
		if r.Events.Accepted != 5 || !strings.Contains(r.Replay, "--duration 250ms") {
			t.Errorf("exit %d, accepted %d, replay %q", code, r.Events.Accepted, r.Replay)
		}
	})
}

// The README's CI recipe runs as written: its first shell block, against
// an endpoint written here in place of the one on 127.0.0.1:3000.
func TestReadmeCIRecipeRunsAsWritten(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## Test your own endpoint in CI\n")
	_, block, ok2 := strings.Cut(section, "```sh\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no shell block under \"Test your own endpoint in CI\"")
	}
	ep := newUserEndpoint(t, endpointSecret, nil)
	dir := t.TempDir()
	vars := map[string]string{"WEBHOOK_SECRET": endpointSecret}
	ran := 0
	for _, line := range strings.Split(strings.ReplaceAll(block, "\\\n", " "), "\n") {
		line, _, _ = strings.Cut(line, "#")
		words := shellWords(t, strings.TrimSpace(line), vars)
		switch {
		case len(words) == 0:
		case words[0] == "export":
			name, value, _ := strings.Cut(words[1], "=")
			vars[name] = value
		case words[0] == "hookrig":
			for i, w := range words {
				switch {
				case w == "http://127.0.0.1:3000/webhooks":
					words[i] = ep.URL + "/webhooks"
				case w == "report.xml":
					words[i] = filepath.Join(dir, w)
				}
			}
			code, _, stderr := runWithEnv(context.Background(), vars, words[1:]...)
			if code != exitOK {
				t.Fatalf("%s: exit %d\n%s", line, code, stderr)
			}
			ran++
		default:
			t.Fatalf("the recipe has a line this test cannot run: %q", line)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.xml"))
	if ran == 0 || err != nil {
		t.Fatalf("ran %d hookrig commands; report.xml: %v", ran, err)
	}
	var suites struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suite    struct {
			Properties []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"properties>property"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &suites); err != nil || suites.Tests != 4 || suites.Failures != 0 {
		t.Fatalf("report.xml: %+v (%v)\n%.600s", suites, err, b)
	}
	for _, p := range suites.Suite.Properties {
		if p.Name == "replay" && !strings.Contains(p.Value, "--receiver "+ep.URL) {
			t.Errorf("the replay property does not name the endpoint: %q", p.Value)
		}
	}
	if ep.webhooks.Load() == 0 || ep.probes.Load() != 1 {
		t.Errorf("the endpoint got %d webhooks and %d probes", ep.webhooks.Load(), ep.probes.Load())
	}
}

// shellWords splits a line as a POSIX shell would for the recipe's
// needs: words, "double" and 'single' quotes, and $VAR in double quotes.
func shellWords(t *testing.T, line string, vars map[string]string) []string {
	var (
		words []string
		cur   strings.Builder
		in    bool
	)
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == ' ' || c == '\t':
			if in {
				words, in = append(words, cur.String()), false
				cur.Reset()
			}
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				t.Fatalf("unclosed quote in %q", line)
			}
			cur.WriteString(line[i+1 : i+1+j])
			i, in = i+1+j, true
		case c == '"':
			j := strings.IndexByte(line[i+1:], '"')
			if j < 0 {
				t.Fatalf("unclosed quote in %q", line)
			}
			cur.WriteString(os.Expand(line[i+1:i+1+j], func(k string) string { return vars[k] }))
			i, in = i+1+j, true
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}
