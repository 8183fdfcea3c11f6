package report

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"

	"github.com/hookrig/hookrig/sim/verdict"
)

// WriteSweepHTML writes a sweep as one self-contained page: the verdict,
// each figure's spread, a histogram over the seeds of every figure that
// varied, and the failing seeds with their replay commands.
func WriteSweepHTML(w io.Writer, r *verdict.SweepResult) error {
	page := sweepPage{R: r, Title: "hookrig · " + orDash(r.Scenario) + " · " + seedsWord(r.Count), Last: r.First + r.Count - 1}
	if r.Passed {
		page.Verdict = "PASS  every assertion held for all " + seedsWord(r.Count)
	} else {
		page.Verdict = fmt.Sprintf("FAIL  %d of %s failed an assertion", r.Failed, seedsWord(r.Count))
	}
	for _, m := range r.Spread {
		page.Spread = append(page.Spread, []string{m.Metric, sweepNum(m.Min), sweepNum(m.P50), sweepNum(m.P99), sweepNum(m.Max), sweepNum(m.Mean)})
		if m.Min == m.Max || len(page.Charts) >= maxSweepCharts {
			continue
		}
		labels, counts := seedHistogram(r, m)
		chart, err := barChart(m.Metric+" across seeds", m.Metric, "seeds", labels, counts, colorDelivered)
		if err != nil {
			return err
		}
		page.Charts = append(page.Charts, chart)
	}
	page.Failed = r.FailedRuns()
	return sweepTemplate.Execute(w, page)
}

// maxSweepCharts bounds the histograms on a sweep's page.
const maxSweepCharts = 8

// seedHistogram counts seeds by m's value: one bar per value when there
// are few distinct whole numbers, else ten equal buckets.
func seedHistogram(r *verdict.SweepResult, m verdict.MetricSpread) ([]string, []float64) {
	whole := true
	for _, run := range r.Runs {
		if v := run.Values[m.Metric]; v != math.Trunc(v) {
			whole = false
		}
	}
	if whole && m.Max-m.Min < 20 {
		n := int(m.Max-m.Min) + 1
		labels, counts := make([]string, n), make([]float64, n)
		for i := range n {
			labels[i] = sweepNum(m.Min + float64(i))
		}
		for _, run := range r.Runs {
			counts[int(run.Values[m.Metric]-m.Min)]++
		}
		return labels, counts
	}
	const buckets = 10
	step := (m.Max - m.Min) / buckets
	labels, counts := make([]string, buckets), make([]float64, buckets)
	// Enough decimals that neighbouring bounds differ.
	decimals := max(0, int(-math.Floor(math.Log10(step)))+1)
	for i := range buckets {
		labels[i] = "≤" + strconv.FormatFloat(m.Min+step*float64(i+1), 'f', decimals, 64)
	}
	for _, run := range r.Runs {
		i := int((run.Values[m.Metric] - m.Min) / step)
		counts[min(max(i, 0), buckets-1)]++
	}
	return labels, counts
}

type sweepPage struct {
	R              *verdict.SweepResult
	Title, Verdict string
	Last           uint64
	Spread         [][]string
	Charts         []template.HTML
	Failed         []verdict.SeedRun
}

var sweepTemplate = pageTemplate("sweep", `{{template "head" .}}
<p class="muted">seeds {{.R.First}} to {{.Last}}, in virtual time{{with .R.Description}}<br>{{.}}{{end}}</p>
<p class="verdict {{if .R.Passed}}pass{{else}}fail{{end}}">{{.Verdict}}</p>

<h2>Across seeds</h2>
<table>
<tr><th>metric</th><th class="n">min</th><th class="n">p50</th><th class="n">p99</th><th class="n">max</th><th class="n">mean</th></tr>
{{range .Spread}}<tr>{{range $i, $c := .}}<td{{if ge $i 1}} class="n"{{end}}>{{$c}}</td>{{end}}</tr>
{{end}}</table>
<p class="muted">p50 and p99 are values some seed had (nearest rank).</p>

{{range .Charts}}{{.}}
{{end}}

{{if .Failed}}<h2>Failing seeds ({{len .Failed}})</h2>
<table>
<tr><th class="n">seed</th><th>failed assertions</th><th>replay</th></tr>
{{range .Failed}}<tr><td class="n">{{.Seed}}</td><td>{{range .Failures}}<code>{{.Expr}}</code> {{.Message}}<br>{{end}}</td><td><code>{{.Replay}}</code></td></tr>
{{end}}</table>
{{end}}
</body>
</html>
`)
