package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hookrig/hookrig/loadgen"
)

// benchTarget is a loopback endpoint counting the requests it gets (not
// the preflight probe, which it answers 200).
type benchTarget struct {
	*httptest.Server
	hits atomic.Int64
}

func newBenchTarget(t *testing.T, onHit func(n int64)) *benchTarget {
	bt := &benchTarget{}
	bt.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(loadgen.ProbeHeader) != "" {
			return
		}
		n := bt.hits.Add(1)
		io.Copy(io.Discard, r.Body)
		if onHit != nil {
			onHit(n)
		}
		w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(bt.Close)
	return bt
}

func runBenchCLI(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	return runOnce(ctx, "", append([]string{"bench"}, args...)...)
}

func TestBenchBadInputIsRefusedBeforeAnyRequest(t *testing.T) {
	bt := newBenchTarget(t, nil)
	dir := t.TempDir()
	badTemplate := filepath.Join(dir, "bad.tmpl")
	os.WriteFile(badTemplate, []byte("{\n  \"id\": \"{{.ID}\"\n}"), 0o644)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown pacer", []string{bt.URL, "--pacer", "zigzag:100"}, `unknown pacer "zigzag"`},
		{"pacer syntax", []string{bt.URL, "--pacer", "steps:100,200"}, "steps:R1,R2,...@EACH"},
		{"negative rate", []string{bt.URL, "--rate", "-5"}, "negative"},
		{"rate not a number", []string{bt.URL, "--rate", "fast"}, "not a number"},
		{"unparseable duration", []string{bt.URL, "--duration", "soon"}, `--duration "soon": expected a duration such as 500ms`},
		{"zero duration", []string{bt.URL, "--duration", "0s"}, "positive duration"},
		{"bad URL", []string{"http://[::1", "--rate", "10"}, "target URL"},
		{"not a URL", []string{"localhost:8080", "--rate", "10"}, "http:// or https://"},
		{"unreadable template", []string{bt.URL, "--template", filepath.Join(dir, "missing.tmpl")}, "--template: open"},
		{"template syntax", []string{bt.URL, "--template", badTemplate}, "bad.tmpl:2"},
		{"unreadable body", []string{bt.URL, "--body", filepath.Join(dir, "missing.json")}, "--body: open"},
		{"body and template", []string{bt.URL, "--body", badTemplate, "--template", badTemplate}, "not both"},
		{"rate and pacer", []string{bt.URL, "--rate", "10", "--pacer", "constant:10"}, "not both"},
		{"bad shard", []string{bt.URL, "--shard", "4/4"}, "--shard"},
		{"shard not a fraction", []string{bt.URL, "--shard", "first"}, "--shard"},
		{"bad header", []string{bt.URL, "-H", "NoColon"}, "--header"},
		{"bad secret", []string{bt.URL, "--secret", "whsec_!!!"}, "--secret"},
		{"bad size", []string{bt.URL, "--size", "lots"}, "--size"},
		{"duplicates of 1.5", []string{bt.URL, "--duplicates", "1.5"}, "duplicates"},
		{"negative concurrency", []string{bt.URL, "--concurrency", "-1"}, "negative"},
		{"unwritable output", []string{bt.URL, "--rate", "10", "--output", filepath.Join(dir, "no", "such", "dir.json")}, "--output"},
		{"no URL", []string{}, "accepts 1 arg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runBenchCLI(context.Background(), tt.args...)
			if code != exitError {
				t.Errorf("exit %d, want %d", code, exitError)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q does not mention %q", stderr, tt.want)
			}
		})
	}
	if n := bt.hits.Load(); n != 0 {
		t.Errorf("%d requests reached the target", n)
	}
}

func TestBenchRunWritesReportJSONAndHgrm(t *testing.T) {
	bt := newBenchTarget(t, nil)
	dir := t.TempDir()
	out, hgrm := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.hgrm")
	code, stdout, stderr := runBenchCLI(context.Background(), bt.URL, "--rate", "500", "--duration", "300ms",
		"--secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "--size", "1KB",
		"--output", out, "--hgrm", hgrm, "--progress-every", "20ms")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"open loop, constant:500", "150 sent", "asked 500.0/s", "200: 150", "corrected", "scheduler lag"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
	// Not a terminal: plain progress lines on stderr.
	if !strings.Contains(stderr, "bench: ") || !strings.Contains(stderr, "in flight") {
		t.Errorf("no progress lines on stderr: %q", stderr)
	}
	var doc struct {
		Version       int
		Requests      uint64
		RateRequested float64 `json:"rate_requested"`
		Success       float64
		LatencyMS     struct{ Corrected, Uncorrected map[string]float64 } `json:"latency_ms"`
		HDR           struct{ Corrected string }
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != 1 || doc.Requests != 150 || doc.RateRequested != 500 || doc.Success != 1 || !strings.HasPrefix(doc.HDR.Corrected, "HIST") {
		t.Errorf("JSON: %+v", doc)
	}
	for _, k := range []string{"p50", "p90", "p99", "p999", "max"} {
		if _, ok := doc.LatencyMS.Corrected[k]; !ok {
			t.Errorf("latency_ms.corrected has no %s", k)
		}
		if _, ok := doc.LatencyMS.Uncorrected[k]; !ok {
			t.Errorf("latency_ms.uncorrected has no %s", k)
		}
	}
	h, err := os.ReadFile(hgrm)
	if err != nil || !strings.Contains(string(h), "1/(1-Percentile)") || !strings.Contains(string(h), "Total count    =          150") {
		t.Errorf(".hgrm: %v\n%s", err, h)
	}
}

func TestBenchShardsMerge(t *testing.T) {
	bt := newBenchTarget(t, nil)
	dir := t.TempDir()
	var files []string
	for _, shard := range []string{"0/2", "1/2"} {
		f := filepath.Join(dir, strings.Replace(shard, "/", "of", 1)+".json")
		code, _, stderr := runBenchCLI(context.Background(), bt.URL, "--rate", "400", "--duration", "250ms", "--shard", shard, "--output", f, "--quiet")
		if code != exitOK {
			t.Fatalf("shard %s: exit %d: %s", shard, code, stderr)
		}
		files = append(files, f)
	}
	merged := filepath.Join(dir, "merged.json")
	code, stdout, stderr := runBenchCLI(context.Background(), append([]string{"merge", "--output", merged}, files...)...)
	if code != exitOK {
		t.Fatalf("merge: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"shards       2 merged", "100 sent", "asked 400.0/s", "200: 100"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("merged report lacks %q:\n%s", want, stdout)
		}
	}
	if bt.hits.Load() != 100 {
		t.Errorf("the target saw %d requests, want 100", bt.hits.Load())
	}
	code, stdout, stderr = runBenchCLI(context.Background(), "merge", files[0])
	if code != exitError || !strings.Contains(stderr, "missing") || !strings.Contains(stdout, "50 sent") {
		t.Errorf("merging one shard of two: exit %d, stderr %q", code, stderr)
	}
	os.WriteFile(filepath.Join(dir, "junk.json"), []byte(`{"version": 7}`), 0o644)
	if code, _, stderr := runBenchCLI(context.Background(), "merge", filepath.Join(dir, "junk.json")); code != exitError || !strings.Contains(stderr, "version 7") {
		t.Errorf("merging a foreign file: exit %d, stderr %q", code, stderr)
	}
}

// Ctrl-C (the context main cancels on SIGINT) ends the run cleanly, and
// the report of what ran is still printed.
func TestBenchCtrlCStillReports(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bt := newBenchTarget(t, func(n int64) {
		if n == 30 {
			cancel()
		}
	})
	code, stdout, stderr := runBenchCLI(ctx, bt.URL, "--rate", "1000", "--duration", "1m", "--quiet")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "INTERRUPTED") || !strings.Contains(stdout, "latency (ms)") {
		t.Errorf("no report of an interrupted run:\n%s", stdout)
	}
}

func TestBenchClosedLoopAndThresholds(t *testing.T) {
	bt := newBenchTarget(t, nil)
	code, stdout, stderr := runBenchCLI(context.Background(), bt.URL, "--concurrency", "2", "--requests", "50", "--quiet")
	if code != exitOK || !strings.Contains(stdout, "closed loop") || !strings.Contains(stdout, "50 sent") {
		t.Errorf("closed loop: exit %d\n%s%s", code, stdout, stderr)
	}
	code, _, stderr = runBenchCLI(context.Background(), bt.URL, "--concurrency", "2", "--requests", "20", "--quiet", "--max-p99", "1ns")
	if code != exitAssertion || !strings.Contains(stderr, "FAILED: corrected p99") {
		t.Errorf("--max-p99 1ns: exit %d, want %d", code, exitAssertion)
	}
}
