package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookrig/hookrig/scenarios"
)

// quickScenario sends exactly 10 events in half a second; the first
// attempt of one of them fails.
const quickScenario = `name: quick
seed: 3
sender:
  policy:
    backoff: {base: 10ms, factor: 2, cap: 40ms}
load:
  phases:
    - {name: load, pacer: constant:20, duration: 500ms}
faults:
  - name: one-503
    match: attempt == 1 && event_id endsWith "_4"
    fault: {type: status, code: 503}
drain:
  timeout: 10s
assertions:
  - lost == 0
  - attempts.total == accepted + 1
`

func writeScenario(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runOnce(context.Background(), "", args...)
}

func TestRunPassesWithJSONReport(t *testing.T) {
	path := writeScenario(t, "quick.yaml", quickScenario)
	code, out, stderr := runCLI(t, "run", path, "--report", "json")
	if code != exitOK {
		t.Fatalf("exit %d\nstderr:\n%s\nstdout:\n%s", code, stderr, out)
	}
	var res struct {
		Schema   string
		Passed   bool
		Mode     string
		Seed     uint64
		Replay   string
		Events   struct{ Accepted, Delivered, Lost int }
		Attempts struct {
			Total   int
			Faulted int
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s", err, out)
	}
	if !res.Passed || res.Mode != "live" || res.Seed != 3 || res.Events.Accepted != 10 || res.Events.Delivered != 10 ||
		res.Events.Lost != 0 || res.Attempts.Total != 11 || res.Attempts.Faulted != 1 {
		t.Errorf("result %+v", res)
	}
	if res.Replay != "hookrig run "+path+" --seed 3" {
		t.Errorf("replay %q", res.Replay)
	}
	// Progress goes to stderr (plain lines: it is not a terminal), never
	// into the report.
	if !strings.Contains(stderr, "hookrig: running quick (seed 3)") || !strings.Contains(stderr, "run: done in") {
		t.Errorf("stderr:\n%s", stderr)
	}
}

func TestRunFailedAssertionExitsOneWithJUnit(t *testing.T) {
	path := writeScenario(t, "failing.yaml", strings.Replace(quickScenario, "  - lost == 0\n", "  - duplicated > 0\n", 1))
	out := filepath.Join(t.TempDir(), "junit.xml")
	code, stdout, stderr := runCLI(t, "run", path, "--report", "junit", "--out", out, "--quiet")
	if code != exitAssertion {
		t.Fatalf("exit %d, want %d\nstderr:\n%s", code, exitAssertion, stderr)
	}
	if stdout != "" || stderr != "" {
		t.Errorf("with --out and --quiet, stdout %q and stderr %q should be empty", stdout, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Suites []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Cases    []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &suites); err != nil || len(suites.Suites) != 1 {
		t.Fatalf("not JUnit XML (%v):\n%s", err, b)
	}
	s := suites.Suites[0]
	if s.Tests != 2 || s.Failures != 1 || s.Cases[0].Failure == nil || !strings.Contains(s.Cases[0].Failure.Message, "duplicated = 0") || s.Cases[1].Failure != nil {
		t.Errorf("suite %+v\n%s", s, b)
	}
}

func TestRunCannotBeDoneExitsTwo(t *testing.T) {
	bad := writeScenario(t, "bad.yaml", "name: bad\nload:\n  phases:\n    - {pacer: constant:1, duraton: 1s}\nassertions:\n  - lots == 0\n")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	quick := writeScenario(t, "quick.yaml", quickScenario)
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"bad scenario", []string{"run", bad}, []string{"bad.yaml is not a valid scenario", "bad.yaml:4:27: unknown field \"duraton\""}},
		{"unknown built-in", []string{"run", "no-such-scenario"}, []string{`no built-in scenario "no-such-scenario"`, "baseline"}},
		{"bad format", []string{"run", quick, "--report", "pdf"}, []string{"--report"}},
		{"port in use", []string{"run", quick, "--proxy", busy.Addr().String(), "--quiet"}, []string{"chaos proxy", "address already in use"}},
		{"bad trigger", []string{"run", quick, "--trigger", "POST ftp://x {}"}, []string{"--trigger", "http://"}},
		{"receipts without receiver", []string{"run", quick, "--receipts", "http://127.0.0.1:1/v1/receipts", "--quiet"}, []string{"give the endpoint's URL"}},
		{"too many args", []string{"run", "a", "b"}, []string{"accepts at most 1 arg"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, c.args...)
			if code != exitError {
				t.Fatalf("exit %d, want %d\nstderr:\n%s", code, exitError, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, stderr)
				}
			}
			if stdout != "" {
				t.Errorf("no report expected, got:\n%s", stdout)
			}
		})
	}
}

func TestScenariosListShowValidate(t *testing.T) {
	code, out, _ := runCLI(t, "scenarios", "list")
	list, err := scenarios.List()
	if err != nil || code != exitOK {
		t.Fatalf("exit %d, %v", code, err)
	}
	for _, s := range list {
		if !strings.Contains(out, s.Name+" ") || !strings.Contains(out, s.Summary()) {
			t.Errorf("list lacks %s: %q", s.Name, s.Summary())
		}
	}

	code, out, _ = runCLI(t, "scenarios", "show", "flaky-5xx")
	src, _ := scenarios.BuiltinSource("flaky-5xx")
	if code != exitOK || out != string(src) {
		t.Errorf("show: exit %d, output is the embedded file: %v", code, out == string(src))
	}
	if code, _, stderr := runCLI(t, "scenarios", "show", "nope"); code != exitError || !strings.Contains(stderr, "baseline") {
		t.Errorf("show nope: exit %d, %s", code, stderr)
	}

	// What show prints validates, and so does a good file; a bad one
	// gets every error with its position.
	good := writeScenario(t, "flaky.yaml", string(src))
	bad := writeScenario(t, "bad.yaml", "name: bad\nseed: x\nload:\n  phases:\n    - {pacer: wobble, duration: 1s}\n")
	code, out, stderr := runCLI(t, "scenarios", "validate", good, bad)
	if code != exitError {
		t.Fatalf("exit %d, want %d", code, exitError)
	}
	if !strings.Contains(out, good+": ok: scenario flaky-5xx, 1 phase over 10s, 1 fault rule, 5 assertions") {
		t.Errorf("stdout:\n%s", out)
	}
	for _, w := range []string{bad + ":2:7:", "1 of 2 files are not valid"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
	if code, _, _ := runCLI(t, "scenarios", "validate", good); code != exitOK {
		t.Errorf("validate good: exit %d", code)
	}
}
