package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hookrig/hookrig/loadgen"
	"github.com/hookrig/hookrig/sim/report"
)

// A bench result in the same four formats as a scenario's report (issue
// 11: one vocabulary): text, the JSON result (what bench merge reads),
// JUnit with one testcase per threshold, and one HTML page with the
// latency distribution. hookrig report renders saved ones again.

// benchCheck is one threshold of a bench run (--max-p99, --min-success)
// and whether the run met it.
type benchCheck struct {
	Name    string // the flag, e.g. "max-p99"
	Want    string // the limit as given
	Got     string // what the run measured
	Passed  bool
	Message string // why it failed; "" when it passed
}

// benchChecks judges res against the command line's thresholds.
func benchChecks(res *loadgen.Result, maxP99 time.Duration, minSuccess float64) []benchCheck {
	var out []benchCheck
	if maxP99 > 0 {
		p99 := loadgen.Summarize(res.Corrected).P99
		c := benchCheck{Name: "max-p99", Want: maxP99.String(), Got: p99.String(), Passed: p99 <= maxP99}
		if !c.Passed {
			c.Message = fmt.Sprintf("corrected p99 %v is above --max-p99 %v", p99, maxP99)
		}
		out = append(out, c)
	}
	if minSuccess > 0 {
		c := benchCheck{Name: "min-success", Want: fmt.Sprint(minSuccess), Got: fmt.Sprintf("%.4f", res.Success()), Passed: res.Success() >= minSuccess}
		if !c.Passed {
			c.Message = fmt.Sprintf("success %.4f is below --min-success %v", res.Success(), minSuccess)
		}
		out = append(out, c)
	}
	return out
}

// isBenchResult sniffs a saved document: a bench result says which tool
// wrote it.
func isBenchResult(data []byte) bool {
	var head struct {
		Tool string `json:"tool"`
	}
	return json.Unmarshal(data, &head) == nil && head.Tool == "hookrig bench"
}

// ratePoint is the answer rate over one stretch of a run, for the HTML
// page's rate over time.
type ratePoint struct {
	At   time.Duration // the end of the stretch, since the run started
	Rate float64       // answers per second over it
}

// rateRecorder is a loadgen.Progress that keeps the rate at each update.
// A saved result holds no series, so only a page written by the run
// itself shows the rate over time.
type rateRecorder struct {
	mu     sync.Mutex
	points []ratePoint
}

func (r *rateRecorder) Update(s loadgen.Snapshot, rate float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.points = append(r.points, ratePoint{At: s.Elapsed, Rate: rate})
}

func (r *rateRecorder) Close(loadgen.Snapshot) {}

func (r *rateRecorder) series() []ratePoint {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.points)
}

// rateEvery is how often the rate over time is sampled: about 60 points
// over the run, at least every 100 ms.
func rateEvery(total time.Duration) time.Duration {
	return max(total/60, 100*time.Millisecond)
}

// renderBench writes res in format f; rates (the rate over time) only
// the HTML page shows, when the run recorded them.
func renderBench(w io.Writer, res *loadgen.Result, checks []benchCheck, rates []ratePoint, f report.Format) error {
	switch f {
	case report.Text:
		if err := loadgen.WriteReport(w, res); err != nil {
			return err
		}
		for _, c := range checks {
			verdict := "held"
			if !c.Passed {
				verdict = "FAILED: " + c.Message
			}
			if _, err := fmt.Fprintf(w, "--%s %s: %s\n", c.Name, c.Want, verdict); err != nil {
				return err
			}
		}
		return nil
	case report.JSON:
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	case report.JUnit:
		return benchJUnit(w, res, checks)
	case report.HTML:
		return benchHTML(w, res, checks, rates)
	}
	return fmt.Errorf("unknown report format %q", f)
}

type benchSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Suite    benchSuiteEl `xml:"testsuite"`
}

type benchSuiteEl struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Time       string          `xml:"time,attr"`
	Properties []benchProperty `xml:"properties>property"`
	Cases      []benchCase     `xml:"testcase"`
}

type benchProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type benchCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Failure   *benchFailure `xml:"failure"`
}

type benchFailure struct {
	Message string `xml:"message,attr"`
}

// benchJUnit writes one testcase per threshold; a run without thresholds
// has one, "completed", which fails when the run was interrupted.
func benchJUnit(w io.Writer, res *loadgen.Result, checks []benchCheck) error {
	s := benchSuiteEl{Name: "hookrig bench " + res.Target, Time: fmt.Sprintf("%.3f", res.Elapsed.Seconds())}
	sum := loadgen.Summarize(res.Corrected)
	s.Properties = []benchProperty{
		{"target", res.Target}, {"mode", res.Mode}, {"requests", fmt.Sprint(res.Requests)},
		{"success", fmt.Sprintf("%.4f", res.Success())}, {"rate_achieved", fmt.Sprintf("%.1f", res.RateAchieved)},
		{"p50", sum.P50.String()}, {"p99", sum.P99.String()}, {"max", sum.Max.String()},
	}
	if len(checks) == 0 {
		c := benchCase{Name: "completed", ClassName: "hookrig.bench"}
		if res.Interrupted {
			c.Failure = &benchFailure{Message: "the run was interrupted before its end"}
		}
		s.Cases = append(s.Cases, c)
	}
	for _, ch := range checks {
		c := benchCase{Name: fmt.Sprintf("--%s %s", ch.Name, ch.Want), ClassName: "hookrig.bench"}
		if !ch.Passed {
			c.Failure = &benchFailure{Message: ch.Message}
		}
		s.Cases = append(s.Cases, c)
	}
	for _, c := range s.Cases {
		s.Tests++
		if c.Failure != nil {
			s.Failures++
		}
	}
	doc := benchSuites{Tests: s.Tests, Failures: s.Failures, Suite: s}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// benchBar is one bar of the HTML latency distribution: the latency at a
// percentile.
type benchBar struct {
	Label string
	Value string
	Width float64 // percent of the widest bar
}

var benchPage = template.Must(template.New("bench").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hookrig bench · {{.Target}}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse}td,th{padding:.2em .8em;text-align:left}
.bar{background:#4a7fb0;height:1em}.fail{color:#b00}.ok{color:#070}</style></head><body>
<h1>hookrig bench · {{.Target}}</h1>
<p>{{.Mode}} loop{{with .Pacer}}, pacer {{.}}{{end}} · {{.Requests}} requests in {{.Duration}} · {{.Rate}} achieved · success {{.Success}}{{if .Interrupted}} · <b class="fail">interrupted</b>{{end}}</p>
{{if .Checks}}<h2>Thresholds</h2><table>{{range .Checks}}<tr><td>--{{.Name}} {{.Want}}</td><td>{{.Got}}</td><td>{{if .Passed}}<span class="ok">held</span>{{else}}<span class="fail">FAILED: {{.Message}}</span>{{end}}</td></tr>{{end}}</table>{{end}}
<h2>Latency (corrected: from each request's intended send time)</h2>
<table>{{range .Bars}}<tr><th>{{.Label}}</th><td>{{.Value}}</td><td style="width:30em"><div class="bar" style="width:{{printf "%.1f" .Width}}%"></div></td></tr>{{end}}</table>
<h2>Answers per second over the run</h2>
{{if .RatePoints}}<svg xmlns="http://www.w3.org/2000/svg" width="640" height="180" viewBox="0 0 640 180" role="img" aria-label="answers per second over time">
<rect x="40" y="10" width="590" height="140" fill="none" stroke="#ccc"/>
<polyline fill="none" stroke="#4a7fb0" stroke-width="2" points="{{.RatePoints}}"/>
<text x="36" y="20" font-size="11" text-anchor="end">{{.RateMax}}/s</text><text x="36" y="150" font-size="11" text-anchor="end">0</text>
<text x="40" y="166" font-size="11">0 s</text><text x="630" y="166" font-size="11" text-anchor="end">{{.RateEnd}}</text>
</svg>{{else}}<p>Not recorded: a saved result keeps no series; <code>hookrig bench --report html</code> draws it during the run.</p>{{end}}
<h2>Answers</h2><table>{{range .Answers}}<tr><td>{{index . 0}}</td><td>{{index . 1}}</td></tr>{{end}}</table>
</body></html>
`))

// benchHTML writes one self-contained page: the run, the thresholds and
// the corrected latency at each percentile as bars.
func benchHTML(w io.Writer, res *loadgen.Result, checks []benchCheck, rates []ratePoint) error {
	sum := loadgen.Summarize(res.Corrected)
	pts := []struct {
		label string
		d     time.Duration
	}{{"min", sum.Min}, {"p50", sum.P50}, {"p90", sum.P90}, {"p99", sum.P99}, {"p99.9", sum.P999}, {"max", sum.Max}}
	var bars []benchBar
	for _, p := range pts {
		width := 0.0
		if sum.Max > 0 {
			width = 100 * float64(p.d) / float64(sum.Max)
		}
		bars = append(bars, benchBar{Label: p.label, Value: p.d.String(), Width: width})
	}
	var answers [][2]string
	for code, n := range res.StatusCodes {
		answers = append(answers, [2]string{fmt.Sprint(code), fmt.Sprint(n)})
	}
	for kind, n := range res.Errors {
		answers = append(answers, [2]string{kind, fmt.Sprint(n)})
	}
	slices.SortFunc(answers, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	points, top, end := rateChart(rates)
	return benchPage.Execute(w, map[string]any{
		"RatePoints": points, "RateMax": fmt.Sprintf("%.0f", top), "RateEnd": end.Round(100 * time.Millisecond).String(),
		"Target": res.Target, "Mode": res.Mode, "Pacer": res.Pacer, "Requests": res.Requests,
		"Duration": res.Duration.Round(time.Millisecond), "Rate": fmt.Sprintf("%.1f/s", res.RateAchieved),
		"Success": fmt.Sprintf("%.2f%%", 100*res.Success()), "Interrupted": res.Interrupted,
		"Checks": checks, "Bars": bars, "Answers": answers,
	})
}

// rateChart places the rate over time in the page's plot area (x 40 to
// 630, y 150 down to 10): the polyline's points, the top of the scale and
// the time at the right edge. "" when there are fewer than two points.
func rateChart(rates []ratePoint) (points string, top float64, end time.Duration) {
	if len(rates) < 2 {
		return "", 0, 0
	}
	for _, p := range rates {
		top, end = max(top, p.Rate), max(end, p.At)
	}
	if top <= 0 || end <= 0 {
		return "", 0, 0
	}
	var b strings.Builder
	for _, p := range rates {
		x := 40 + 590*float64(p.At)/float64(end)
		y := 150 - 140*p.Rate/top
		fmt.Fprintf(&b, "%.1f,%.1f ", x, y)
	}
	return strings.TrimSpace(b.String()), top, end
}
