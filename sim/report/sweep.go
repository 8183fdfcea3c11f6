package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/hookrig/hookrig/internal/httpapi"
	"github.com/hookrig/hookrig/sim/verdict"
)

// A sweep (hookrig sim --seeds N) reports the spread across seeds and the
// seeds that failed, each with the command that replays it alone, in the
// same four formats as a run.

// sweepFailuresShown bounds the failing seeds the text lists (the JSON and
// JUnit forms list every one).
const sweepFailuresShown = 10

// RenderSweep writes a sweep's result in format f.
func RenderSweep(w io.Writer, r *verdict.SweepResult, f Format) error {
	switch f {
	case Text:
		return WriteSweepText(w, r)
	case JSON:
		return WriteSweepJSON(w, r)
	case JUnit:
		return WriteSweepJUnit(w, r)
	case HTML:
		return WriteSweepHTML(w, r)
	}
	_, err := ParseFormat(string(f))
	return err
}

// WriteSweepText writes the sweep for people.
func WriteSweepText(w io.Writer, r *verdict.SweepResult) error {
	var b strings.Builder
	last := r.First + r.Count - 1
	fmt.Fprintf(&b, "hookrig · scenario %s · %s (%d to %d) in virtual time\n", orDash(r.Scenario),
		seedsWord(r.Count), r.First, last)
	if d := firstLine(r.Description); d != "" {
		fmt.Fprintf(&b, "%s\n", d)
	}
	if r.Passed {
		fmt.Fprintf(&b, "\nPASS  every assertion held for all %s\n", seedsWord(r.Count))
	} else {
		fmt.Fprintf(&b, "\nFAIL  %d of %s failed an assertion\n", r.Failed, seedsWord(r.Count))
	}

	b.WriteString("\nAcross seeds (p50 and p99 are values some seed had)\n")
	rows := [][]string{{"metric", "min", "p50", "p99", "max", "mean"}}
	for _, m := range r.Spread {
		rows = append(rows, []string{m.Metric, sweepNum(m.Min), sweepNum(m.P50), sweepNum(m.P99), sweepNum(m.Max), sweepNum(m.Mean)})
	}
	b.WriteString(alignRows(rows, "lrrrrr"))

	if failed := r.FailedRuns(); len(failed) > 0 {
		b.WriteString("\nFailing seeds")
		if len(failed) > sweepFailuresShown {
			fmt.Fprintf(&b, " (the first %d of %d; the JSON report lists all)", sweepFailuresShown, len(failed))
		}
		b.WriteString("\n")
		for _, run := range failed[:min(len(failed), sweepFailuresShown)] {
			fmt.Fprintf(&b, "  seed %d  trace %s\n", run.Seed, run.TraceHash)
			for _, a := range run.Failures {
				fmt.Fprintf(&b, "    FAIL  %s", a.Expr)
				if a.Message != "" {
					fmt.Fprintf(&b, "  (%s)", a.Message)
				}
				b.WriteString("\n")
			}
			if run.Replay != "" {
				fmt.Fprintf(&b, "    replay: %s\n", run.Replay)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func seedsWord(n uint64) string { return fmt.Sprintf("%d %s", n, plural(int64(n), "seed", "seeds")) }

// sweepNum shows a metric value: whole numbers as such, others with up to
// three decimals.
func sweepNum(x float64) string { return trimFloat(x, 3) }

// WriteSweepJSON writes the sweep as indented JSON; the same sweep always
// gives the same bytes.
func WriteSweepJSON(w io.Writer, r *verdict.SweepResult) error { return writeIndented(w, r, "sweep") }

// WriteSweepJUnit writes the sweep as JUnit XML: one testcase per seed, so
// a CI system lists each failing seed with its failed assertions and the
// command that replays it.
func WriteSweepJUnit(w io.Writer, r *verdict.SweepResult) error {
	var text strings.Builder
	if err := WriteSweepText(&text, r); err != nil {
		return err
	}
	name := "hookrig." + orDash(r.Scenario) + ".seeds"
	suite := junitSuite{Name: name, SystemOut: text.String(), Properties: []junitProperty{
		{"scenario", r.Scenario}, {"first_seed", fmt.Sprint(r.First)}, {"seeds", fmt.Sprint(r.Count)},
	}}
	for _, run := range r.Runs {
		c := junitCase{Name: fmt.Sprintf("seed %d", run.Seed), Classname: name, Time: "0"}
		if !run.Passed {
			exprs := make([]string, len(run.Failures))
			var body strings.Builder
			for i, a := range run.Failures {
				exprs[i] = a.Expr
				fmt.Fprintf(&body, "assertion: %s\n%s\n", a.Expr, a.Message)
			}
			if run.Replay != "" {
				fmt.Fprintf(&body, "replay: %s\n", run.Replay)
			}
			c.Failure = &junitFailure{Message: "failed: " + strings.Join(exprs, "; "), Type: "AssertionFailed", Text: body.String()}
			suite.Failures++
		}
		suite.Cases = append(suite.Cases, c)
	}
	suite.Tests = len(suite.Cases)
	doc := junitSuites{Name: "hookrig", Tests: suite.Tests, Failures: suite.Failures, Suites: []junitSuite{suite}}
	return writeJUnitDoc(w, doc)
}

// IsSweep says whether a saved JSON document is a sweep (by its schema)
// rather than a result.
func IsSweep(data []byte) bool {
	var head struct {
		Schema string `json:"schema"`
	}
	return json.Unmarshal(data, &head) == nil && head.Schema == verdict.SweepSchema
}

// ReadSweepJSON decodes a saved sweep strictly, as ReadJSON does a result.
func ReadSweepJSON(data []byte, name string) (*verdict.SweepResult, error) {
	var r verdict.SweepResult
	if err := httpapi.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if r.Schema != verdict.SweepSchema {
		return nil, fmt.Errorf("%s: sweep schema %q is not supported (expected %q)", name, r.Schema, verdict.SweepSchema)
	}
	if uint64(len(r.Runs)) != r.Count {
		return nil, fmt.Errorf("%s: %d runs for %d seeds", name, len(r.Runs), r.Count)
	}
	return &r, nil
}
