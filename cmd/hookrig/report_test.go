package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookrig/hookrig/sim/report"
	"github.com/hookrig/hookrig/sim/verdict"
)

// reportFixture saves the result of a small run (events i0..i0+n) as
// JSON and returns its path and bytes.
func reportFixture(t *testing.T, dir string, i0, n int) (string, []byte) {
	t.Helper()
	start := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	c := verdict.NewChecker(start)
	for i := i0; i < i0+n; i++ {
		id := fmt.Sprintf("evt_%d", i)
		at := start.Add(time.Duration(i) * 10 * time.Millisecond)
		if err := c.Accept(verdict.Accepted{ID: id, Seq: uint64(i), At: at, Phase: "load"}); err != nil {
			t.Fatal(err)
		}
		c.Attempt(verdict.AttemptRec{ID: id, N: 1, At: at, Status: 503})
		c.Attempt(verdict.AttemptRec{ID: id, N: 2, At: at.Add(time.Second), Status: 200})
		if i%50 != 0 {
			c.Receipt(verdict.ReceiptRec{ID: id, At: at.Add(time.Second + time.Duration(i%7)*time.Millisecond), Status: 200, Verified: true})
		}
	}
	r := c.Result(verdict.RunInfo{Scenario: "flaky-5xx", Mode: verdict.ModeVirtual, Seed: 42, LoadEnd: 10 * time.Second, End: 12 * time.Second,
		Phases: []verdict.PhaseWindow{{Name: "load", End: 10 * time.Second}}})
	r.SetAssertions([]verdict.Assertion{{Expr: "lost == 0", Passed: r.Events.Lost == 0, Message: fmt.Sprintf("false: lost = %d", r.Events.Lost)}})
	var b bytes.Buffer
	if err := report.WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("result-%d.json", i0))
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, b.Bytes()
}

func runReport(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	return runOnce(context.Background(), stdin, append([]string{"report"}, args...)...)
}

func TestReportCommandRoundTripsJSON(t *testing.T) {
	dir := t.TempDir()
	path, saved := reportFixture(t, dir, 0, 500)
	code, out, stderr := runReport(t, "", path, "--report", "json")
	if code != exitOK || out != string(saved) {
		t.Fatalf("exit %d, stderr %q; JSON re-rendered identical: %v", code, stderr, out == string(saved))
	}
	// From stdin too.
	if code, out, _ := runReport(t, string(saved), "-", "-r", "json"); code != exitOK || out != string(saved) {
		t.Fatalf("from stdin: exit %d, identical %v", code, out == string(saved))
	}
}

func TestReportCommandFormats(t *testing.T) {
	dir := t.TempDir()
	path, _ := reportFixture(t, dir, 0, 500)

	code, out, _ := runReport(t, "", path)
	if code != exitOK || !strings.Contains(out, "FAIL  1 of 1 assertion failed") || !strings.Contains(out, "lost == 0") {
		t.Errorf("text: exit %d\n%s", code, out)
	}

	html := filepath.Join(dir, "report.html")
	if code, out, stderr := runReport(t, "", path, "--report", "html", "--out", html); code != exitOK || out != "" {
		t.Fatalf("html: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	b, err := os.ReadFile(html)
	if err != nil || strings.Count(string(b), "<svg") != 4 { // delivery, timeline, attempts, percentiles
		t.Errorf("html file: err %v, %d charts", err, strings.Count(string(b), "<svg"))
	}

	code, out, _ = runReport(t, "", path, "--report", "junit")
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal([]byte(out), &doc); code != exitOK || err != nil || doc.Tests != 1 || doc.Failures != 1 {
		t.Errorf("junit: exit %d, err %v, %+v", code, err, doc)
	}
}

func TestReportCommandMergesShards(t *testing.T) {
	dir := t.TempDir()
	a, _ := reportFixture(t, dir, 0, 300)
	b, _ := reportFixture(t, dir, 300, 200)
	_, whole := reportFixture(t, t.TempDir(), 0, 500)
	code, out, stderr := runReport(t, "", a, b, "--report", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var merged, want verdict.Result
	if err := json.Unmarshal([]byte(out), &merged); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(whole, &want); err != nil {
		t.Fatal(err)
	}
	if merged.Events != want.Events || merged.Latency != want.Latency || merged.Histograms != want.Histograms ||
		merged.Attempts.Total != want.Attempts.Total || merged.Attempts.PerEvent.P99 != want.Attempts.PerEvent.P99 {
		t.Errorf("merged shards differ from the whole run:\nmerged %+v %+v\nwhole  %+v %+v", merged.Events, merged.Latency, want.Events, want.Latency)
	}
	if merged.Shards != 2 || len(merged.Assertions) != 0 {
		t.Errorf("shards %d, assertions %d", merged.Shards, len(merged.Assertions))
	}
}

func TestReportCommandErrors(t *testing.T) {
	dir := t.TempDir()
	path, saved := reportFixture(t, dir, 0, 10)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("{\n  \"schema\": \"hookrig.result/v1\",\n  oops\n}"), 0o644)
	other := filepath.Join(dir, "other.json")
	os.WriteFile(other, bytes.Replace(saved, []byte(`"flaky-5xx"`), []byte(`"baseline"`), 1), 0o644)
	out := filepath.Join(dir, "keep.txt")
	os.WriteFile(out, []byte("earlier report"), 0o644)

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no file", nil, "requires at least 1 arg"},
		{"missing", []string{filepath.Join(dir, "nope.json")}, "no such file"},
		{"malformed", []string{bad, "--out", out}, "bad.json: malformed JSON at line 3, column 3"},
		{"format", []string{path, "--report", "pdf"}, `unknown report format "pdf"`},
		{"different scenarios", []string{path, other}, "only results of one scenario merge"},
		{"out dir missing", []string{path, "--out", filepath.Join(dir, "no", "dir", "r.txt")}, "r.txt: the directory " + filepath.Join(dir, "no", "dir") + " does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runReport(t, "", tc.args...)
			if code != exitError || !strings.Contains(stderr, tc.want) || stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, stdout, stderr, exitError, tc.want)
			}
		})
	}
	if b, _ := os.ReadFile(out); string(b) != "earlier report" {
		t.Error("a failed report overwrote a file")
	}
}

// A saved sweep renders again; its JSON comes back byte for byte; it is
// not merged with anything.
func TestReportSweep(t *testing.T) {
	path := writeScenario(t, "quick.yaml", quickScenario)
	code, saved, stderr := runCLI(t, "sim", path, "--seeds", "4", "--report", "json", "--quiet")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	file := filepath.Join(t.TempDir(), "sweep.json")
	if err := os.WriteFile(file, []byte(saved), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := runCLI(t, "report", file, "--report", "json"); code != exitOK || out != saved {
		t.Errorf("json again: exit %d, same bytes %v\n%s", code, out == saved, stderr)
	}
	if code, out, _ := runCLI(t, "report", file); code != exitOK || !strings.Contains(out, "PASS  every assertion held for all 4 seeds") {
		t.Errorf("text: exit %d\n%s", code, out)
	}
	if code, out, _ := runCLI(t, "report", file, "-r", "junit"); code != exitOK || strings.Count(out, "<testcase ") != 4 {
		t.Errorf("junit: exit %d\n%s", code, out)
	}
	if code, out, _ := runCLI(t, "report", file, "-r", "html"); code != exitOK || !strings.Contains(out, "<!doctype html>") {
		t.Errorf("html: exit %d\n%.500s", code, out)
	}
	if code, _, stderr := runCLI(t, "report", file, file); code != exitError || !strings.Contains(stderr, "render it on its own") {
		t.Errorf("two sweeps: exit %d, stderr %q", code, stderr)
	}
}
