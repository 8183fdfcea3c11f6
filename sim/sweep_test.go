package sim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim"
	"github.com/hookrig/hookrig/sim/internal/simtest"
	"github.com/hookrig/hookrig/sim/report"
	"github.com/hookrig/hookrig/sim/verdict"
	"github.com/hookrig/hookrig/sim/virtual"
)

// Two acknowledgements in a hundred are lost, at random: over 40 events
// some seeds see none (the assertion holds) and some see one or more.
const sweepScenario = simtest.Quick + `
faults:
  - name: some-acks-lost
    probability: 0.02
    fault: {type: ack_lost}
assertions:
  - duplicated == 0
`

// A sweep is the seeds' own runs: each row is what RunVirtual gives for
// that seed alone, the failures are exactly the runs that failed, and the
// result does not depend on how many seeds ran at once.
func TestSweepIsEachSeedsOwnRun(t *testing.T) {
	s := simtest.Parse(t, "sweep", sweepScenario)
	ctx := context.Background()
	serial, err := sim.Sweep(ctx, s, sim.SweepOptions{First: 11, Count: 24, Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	if serial.First != 11 || serial.Count != 24 || len(serial.Runs) != 24 {
		t.Fatalf("first %d count %d runs %d", serial.First, serial.Count, len(serial.Runs))
	}
	failed := 0
	for i, run := range serial.Runs {
		seed := uint64(11 + i)
		one := *s
		one.Seed = seed
		r, _, err := sim.RunVirtual(ctx, &one, virtual.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if run.Seed != seed || run.Passed != r.Passed || run.TraceHash != r.TraceHash ||
			run.Values["duplicated"] != float64(r.Events.Duplicated) || run.Values["accepted"] != float64(r.Events.Accepted) ||
			run.Values["delivery.p99_ms"] != r.Latency.Delivery.P99 {
			t.Errorf("seed %d: sweep row %+v, alone: passed %v trace %s duplicated %d p99 %v",
				seed, run, r.Passed, r.TraceHash, r.Events.Duplicated, r.Latency.Delivery.P99)
		}
		if run.Replay != "" {
			t.Errorf("seed %d: replay %q: command lines are the CLI's to write", seed, run.Replay)
		}
		if !run.Passed {
			failed++
			if len(run.Failures) != 1 || run.Failures[0].Expr != "duplicated == 0" {
				t.Errorf("seed %d: failures %+v", seed, run.Failures)
			}
		} else if len(run.Failures) != 0 {
			t.Errorf("seed %d passed with failures %+v", seed, run.Failures)
		}
	}
	if failed == 0 || failed == 24 {
		t.Fatalf("%d of 24 seeds failed: the scenario should split them", failed)
	}
	if serial.Failed != failed || serial.Passed || len(serial.FailedRuns()) != failed {
		t.Errorf("failed %d (want %d), passed %v, FailedRuns %d", serial.Failed, failed, serial.Passed, len(serial.FailedRuns()))
	}

	parallel, err := sim.Sweep(ctx, s, sim.SweepOptions{First: 11, Count: 24, Parallel: 3})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(serial)
	b, _ := json.Marshal(parallel)
	if !bytes.Equal(a, b) {
		t.Errorf("one at a time and three at a time differ:\n%s\n%s", a, b)
	}
}

// The spread of a metric is read off the seeds' values: min and max are
// the extremes, p50 and p99 values some seed had.
func TestSweepSpread(t *testing.T) {
	s := simtest.Parse(t, "sweep", sweepScenario)
	res, err := sim.Sweep(context.Background(), s, sim.SweepOptions{First: 1, Count: 9})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Spread) != len(verdict.SweepMetrics()) {
		t.Fatalf("%d spreads for %d metrics", len(res.Spread), len(verdict.SweepMetrics()))
	}
	for _, m := range res.Spread {
		had := map[float64]bool{}
		lo, hi, sum := m.Max, m.Min, 0.0
		for _, run := range res.Runs {
			v := run.Values[m.Metric]
			had[v] = true
			lo, hi, sum = min(lo, v), max(hi, v), sum+v
		}
		if lo != m.Min || hi != m.Max || !had[m.P50] || !had[m.P99] || m.P50 > m.P99 {
			t.Errorf("%s: spread %+v, values min %v max %v", m.Metric, m, lo, hi)
		}
		if mean := sum / 9; mean-m.Mean > 0.001 || m.Mean-mean > 0.001 {
			t.Errorf("%s: mean %v, want %v", m.Metric, m.Mean, mean)
		}
	}
}

func TestSweepErrors(t *testing.T) {
	ctx := context.Background()
	s := simtest.Parse(t, "sweep", sweepScenario)
	if _, err := sim.Sweep(ctx, s, sim.SweepOptions{First: 1}); err == nil || !strings.Contains(err.Error(), "at least one seed") {
		t.Errorf("no seeds: %v", err)
	}
	if _, err := sim.Sweep(ctx, s, sim.SweepOptions{First: ^uint64(0), Count: 2}); err == nil || !strings.Contains(err.Error(), "overflow") {
		t.Errorf("overflow: %v", err)
	}
	theirs := simtest.Parse(t, "theirs", simtest.Quick+"receiver: {url: \"http://127.0.0.1:9/hook\"}\n")
	if _, err := sim.Sweep(ctx, theirs, sim.SweepOptions{First: 1, Count: 3}); err == nil || !strings.Contains(err.Error(), "use hookrig run") {
		t.Errorf("a user's endpoint: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := sim.Sweep(cancelled, s, sim.SweepOptions{First: 1, Count: 3}); err == nil {
		t.Error("a cancelled sweep gave a result")
	}
}

// The text names every failing seed with its replay command; JUnit has a
// testcase per seed, failures where the seed failed.
func TestSweepReports(t *testing.T) {
	s := simtest.Parse(t, "sweep", sweepScenario)
	res, err := sim.Sweep(context.Background(), s, sim.SweepOptions{First: 11, Count: 24})
	if err != nil {
		t.Fatal(err)
	}
	for i := range res.Runs { // as the CLI does
		res.Runs[i].Replay = fmt.Sprintf("hookrig sim sweep --seed %d", res.Runs[i].Seed)
	}
	var text bytes.Buffer
	if err := report.RenderSweep(&text, res, report.Text); err != nil {
		t.Fatal(err)
	}
	out := text.String()
	if !strings.Contains(out, fmt.Sprintf("FAIL  %d of 24 seeds failed an assertion", res.Failed)) ||
		!strings.Contains(out, "24 seeds (11 to 34)") || !strings.Contains(out, "duplicated") {
		t.Errorf("text:\n%s", out)
	}
	for i, run := range res.FailedRuns() {
		shown := strings.Contains(out, fmt.Sprintf("replay: hookrig sim sweep --seed %d\n", run.Seed))
		if shown != (i < 10) {
			t.Errorf("seed %d (failure %d) shown %v:\n%s", run.Seed, i+1, shown, out)
		}
	}

	var junit bytes.Buffer
	if err := report.RenderSweep(&junit, res, report.JUnit); err != nil {
		t.Fatal(err)
	}
	x := junit.String()
	if strings.Count(x, "<testcase ") != 24 || strings.Count(x, "<failure ") != res.Failed ||
		!strings.Contains(x, fmt.Sprintf(`tests="24" failures="%d"`, res.Failed)) {
		t.Errorf("junit:\n%s", x)
	}
	var page bytes.Buffer
	if err := report.RenderSweep(&page, res, report.HTML); err != nil {
		t.Fatal(err)
	}
	h := page.String()
	// duplicated, delivered and more vary across these seeds: a chart each;
	// every failing seed is listed with its replay command; nothing is
	// loaded from elsewhere.
	if !strings.Contains(h, fmt.Sprintf("FAIL  %d of 24 seeds failed an assertion", res.Failed)) ||
		!strings.Contains(h, "duplicated across seeds") || strings.Count(h, "<svg") < 2 ||
		strings.Count(h, "hookrig sim sweep --seed ") != res.Failed || strings.Contains(h, "<link") || strings.Contains(h, "src=") {
		t.Errorf("html page: %d charts\n%.2000s", strings.Count(h, "<svg"), h)
	}
	if err := report.RenderSweep(&page, res, report.Format("pdf")); err == nil {
		t.Error("pdf rendered")
	}
}

// Across seeds the sweep shows what the policy and the fault rate imply:
// with 503s on 20% of attempts and 4 attempts at most, an event is
// dead-lettered with probability 0.2^4, so a run of N events dead-letters
// N·0.2^4 on average (Poisson, for small rates) and has none with
// probability exp(-N·0.2^4). Over 200 seeds both land near those figures
// (within four standard errors; the seeds are fixed, so this never
// flickers, but a wrong draw or a retry too many would move it).
func TestSweepAgreesWithTheOdds(t *testing.T) {
	const events, seeds, p = 500, 200, 0.2
	s := simtest.Parse(t, "odds", `
sender:
  policy:
    backoff: {base: 10ms, factor: 2, cap: 40ms}
    max_attempts: 4
    breaker: {failures: 0}
load:
  phases:
    - {name: load, pacer: constant:500, duration: 1s}
faults:
  - name: flaky
    probability: 0.2
    fault: {type: status, code: 503}
assertions:
  - dead_lettered == 0
`)
	res, err := sim.Sweep(context.Background(), s, sim.SweepOptions{First: 1, Count: seeds})
	if err != nil {
		t.Fatal(err)
	}
	lambda := events * p * p * p * p // 0.8 dead letters a run
	var mean float64
	for _, m := range res.Spread {
		if m.Metric == "dead_lettered" {
			mean = m.Mean
		}
		if m.Metric == "accepted" && (m.Min != events || m.Max != events) {
			t.Fatalf("accepted %v to %v, want %d", m.Min, m.Max, events)
		}
	}
	if se := math.Sqrt(lambda / seeds); math.Abs(mean-lambda) > 4*se {
		t.Errorf("dead letters a run: %.3f, want %.3f ± %.3f", mean, lambda, 4*se)
	}
	pass := math.Exp(-lambda) // ≈ 0.45
	got := float64(seeds-res.Failed) / seeds
	t.Logf("dead letters a run %.3f (expected %.3f); seeds without one %.3f (expected %.3f)", mean, lambda, got, pass)
	if se := math.Sqrt(pass * (1 - pass) / seeds); math.Abs(got-pass) > 4*se {
		t.Errorf("seeds with no dead letter: %.3f, want %.3f ± %.3f", got, pass, 4*se)
	}
}

// docs/result-schema.md lists the sweep's metrics in order.
func TestSweepMetricsDocumented(t *testing.T) {
	b, err := os.ReadFile("../docs/result-schema.md")
	if err != nil {
		t.Fatal(err)
	}
	_, doc, ok := strings.Cut(string(b), "The metrics, in order:")
	if !ok {
		t.Fatal(`docs/result-schema.md has no "The metrics, in order:"`)
	}
	doc, _, _ = strings.Cut(doc, "(the result fields")
	var listed []string
	for _, m := range regexp.MustCompile("`([a-z0-9_.]+)`").FindAllStringSubmatch(doc, -1) {
		listed = append(listed, m[1])
	}
	var names []string
	for _, m := range verdict.SweepMetrics() {
		names = append(names, m.Name)
	}
	if !slices.Equal(listed, names) {
		t.Errorf("docs list %v\nsim.SweepMetrics %v", listed, names)
	}
}

// Vary is one sweep per value, each the sweep --set would give; the text
// table has a row per value.
func TestVary(t *testing.T) {
	ctx := context.Background()
	open := func(v string) (*scenarios.Scenario, sim.SweepOptions, error) {
		s := simtest.Parse(t, "odds", strings.Replace(simtest.Quick, "max_attempts: 5", "max_attempts: "+v, 1)+`
faults:
  - name: flaky
    probability: 0.5
    fault: {type: status, code: 503}
assertions:
  - dead_lettered == 0
`)
		return s, sim.SweepOptions{First: 1, Count: 20}, nil
	}
	res, err := sim.Vary(ctx, "sender.policy.max_attempts", []string{"1", "3", "8"}, open)
	if err != nil {
		t.Fatal(err)
	}
	if res.Schema != verdict.VarySchema || res.Scenario != "odds" || len(res.Values) != 3 {
		t.Fatalf("%+v", res)
	}
	var dead []float64
	for i, v := range res.Values {
		s, opts, _ := open(v.Value)
		alone, err := sim.Sweep(ctx, s, opts)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(alone)
		b, _ := json.Marshal(v.Sweep)
		if !bytes.Equal(a, b) {
			t.Errorf("value %s: the sweep differs from the same sweep alone", v.Value)
		}
		for _, m := range v.Sweep.Spread {
			if m.Metric == "dead_lettered" {
				dead = append(dead, m.Mean)
			}
		}
		if i == 0 && v.Sweep.Failed != 20 {
			t.Errorf("one attempt at 50%% 503s: %d of 20 seeds failed", v.Sweep.Failed)
		}
	}
	// More attempts, fewer dead letters: 40·0.5, 40·0.5³, 40·0.5⁸ expected.
	if len(dead) != 3 || !(dead[0] > dead[1] && dead[1] > dead[2]) || dead[0] < 15 || dead[0] > 25 {
		t.Errorf("dead letters a run by max_attempts 1, 3, 8: %v", dead)
	}
	var text bytes.Buffer
	if err := report.RenderVary(&text, res, report.Text); err != nil {
		t.Fatal(err)
	}
	out := text.String()
	if !strings.Contains(out, "sender.policy.max_attempts over 20 seeds each (1 to 20)") ||
		!regexp.MustCompile(`(?m)^  1\s+20 of 20\s`).MatchString(out) || !regexp.MustCompile(`(?m)^  8\s+\d+ of 20\s`).MatchString(out) {
		t.Errorf("text:\n%s", out)
	}
	if err := report.RenderVary(&text, res, report.JUnit); err == nil {
		t.Error("junit rendered")
	}
	if _, err := sim.Vary(ctx, "x", nil, open); err == nil {
		t.Error("no values, no error")
	}
	bad := func(string) (*scenarios.Scenario, sim.SweepOptions, error) {
		return nil, sim.SweepOptions{}, errors.New("no such setting")
	}
	if _, err := sim.Vary(ctx, "x", []string{"1"}, bad); err == nil || !strings.Contains(err.Error(), "no such setting") {
		t.Errorf("open's error: %v", err)
	}
}
