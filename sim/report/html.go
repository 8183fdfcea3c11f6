package report

import (
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/hookrig/hookrig/sim/verdict"
)

// WriteHTML writes one self-contained page: the verdict, the categories,
// charts (delivery latency distribution, the timeline with fault windows
// shaded, attempts per event) as inline SVG, the tables, and the result's
// footer. It loads nothing from the network.
func WriteHTML(w io.Writer, r *verdict.Result) error {
	latency, timeline, attempts, err := charts(r)
	if err != nil {
		return err
	}
	pct, err := percentileChart(r)
	if err != nil {
		return fmt.Errorf("percentile chart: %w", err)
	}
	page := htmlPage{
		PercentileChart: pct,
		Target:          targetLine(r.Target),
		Finding:         findingText(r),
		RunChecks:       r.FailedRunChecks(),
		R:               r,
		Verdict:         verdictLine(r),
		Pass:            r.Passed,
		LatencyChart:    latency,
		TimelineChart:   timeline,
		AttemptsChart:   attempts,
	}
	page.Title = "hookrig · " + orDash(r.Scenario)
	e := r.Events
	page.Categories = []htmlCategory{
		{"delivered", e.Delivered, percent(e.Delivered, e.Accepted), "received and acknowledged (verified 2xx) at least once", false},
		{"lost", e.Lost, percent(e.Lost, e.Accepted), "never acknowledged; the sender neither gave up nor kept trying", e.Lost > 0},
		{"dead-lettered", e.DeadLettered, percent(e.DeadLettered, e.Accepted), "the sender gave up and says so (replayable)", e.DeadLettered > 0},
		{"pending", e.Pending, percent(e.Pending, e.Accepted), "still being retried when the drain ended", e.Pending > 0},
		{"duplicated", e.Duplicated, percent(e.Duplicated, e.Accepted), fmt.Sprintf("acknowledged more than once (%d extra deliveries)", e.DuplicateDeliveries), e.Duplicated > 0},
		{"unexpected", e.Unexpected, "", "received but never accepted", e.Unexpected > 0},
		{"reordered", e.Reordered, "", fmt.Sprintf("same-key pairs received out of order (%d of %d keys)", r.Ordering.KeysReordered, r.Ordering.Keys), e.Reordered > 0},
	}
	d := r.Latency.Delivery
	if d.Count > 0 {
		page.Latency = [][2]string{{"p50", fmtMs(d.P50)}, {"p90", fmtMs(d.P90)}, {"p99", fmtMs(d.P99)},
			{"p99.9", fmtMs(d.P999)}, {"max", fmtMs(d.Max)}, {"mean", fmtMs(d.Mean)}}
	}
	for i, f := range r.Faults {
		herd := "n/a"
		if f.HerdRatio > 0 {
			herd = trimFloat(f.HerdRatio, 1) + "×"
		}
		page.Faults = append(page.Faults, []string{string(faultMark(i)), f.Rule, f.Fault, fmtS(f.StartS) + " – " + fmtS(f.EndS),
			fmt.Sprint(f.Attempts), fmt.Sprint(f.Failed), trimFloat(f.RateBefore, 1) + "/s",
			trimFloat(f.PeakRateAfter, 1) + "/s at " + fmtS(f.PeakAtS), herd})
	}
	for _, p := range r.Phases {
		window := "–"
		if p.EndS > p.StartS {
			window = fmtS(p.StartS) + " – " + fmtS(p.EndS)
		}
		page.Phases = append(page.Phases, []string{p.Name, window, fmt.Sprint(p.Accepted), fmt.Sprint(p.Delivered),
			fmt.Sprint(p.Lost), fmt.Sprint(p.Duplicated), fmt.Sprint(p.DeadLettered), fmt.Sprint(p.Pending), fmtMs(p.P50Ms), fmtMs(p.P99Ms)})
	}
	ex := r.Examples
	for _, l := range []struct {
		name string
		ids  []string
	}{{"lost", ex.Lost}, {"duplicated", ex.Duplicated}, {"dead-lettered", ex.DeadLettered}, {"pending", ex.Pending},
		{"unexpected", ex.Unexpected}, {"reordered keys", ex.ReorderedKeys}} {
		if len(l.ids) > 0 {
			page.Examples = append(page.Examples, [2]string{l.name, strings.Join(l.ids, " ")})
		}
	}
	if ep := r.Endpoint; ep.Attempts > 0 {
		page.Endpoint = fmt.Sprintf("%d requests sent, %d answered", ep.Attempts, ep.Answered)
		if ep.Answered > 0 {
			page.Endpoint += "; time to answer " + responseText(ep)
		}
		page.Failures = causesText(ep)
		for _, d := range ep.Disables {
			page.Endpoint += "; " + disableText(d)
		}
	}
	page.Groups, page.Isolation = groupRows(r), isolationLine(r)
	page.Senders, page.Receivers = senderRows(r), receiverRows(r)
	if page.Senders != nil {
		page.InstanceNote = instanceNote
	}
	page.Footer = strings.TrimSpace(footerText(r))
	return htmlTemplate.Execute(w, page)
}

type htmlPage struct {
	R                                          *verdict.Result
	Title, Verdict, Footer                     string
	Pass                                       bool
	Categories                                 []htmlCategory
	Latency                                    [][2]string
	LatencyChart, TimelineChart, AttemptsChart template.HTML
	Faults, Phases                             [][]string
	// A fleet's groups and isolation line (fleet.go).
	Groups    [][]string
	Isolation string
	// The sender and receiver instances, header row first (instances.go).
	Senders, Receivers [][]string
	InstanceNote       string
	Examples           [][2]string
	// The diagnosis.
	Target, Finding, Endpoint, Failures string
	PercentileChart                     template.HTML
	RunChecks                           []verdict.Assertion
}

type htmlCategory struct {
	Name  string
	Count int64
	Share string
	What  string
	Bad   bool
}

var htmlTemplate = pageTemplate("report", `{{template "head" .}}
<p class="muted">{{with .R.Mode}}{{.}} run{{end}} · seed {{.R.Seed}} · load for {{.R.Run.LoadEndS}} s, ended at {{.R.Run.EndS}} s{{with .R.Description}}<br>{{.}}{{end}}</p>
<p class="verdict {{if .Pass}}pass{{else}}fail{{end}}">{{.Verdict}}</p>
{{with .Target}}<p>Tested: {{.}}</p>{{end}}
{{with .Finding}}<p class="verdict fail">{{.}}</p>{{end}}

<h2>What happened to the {{.R.Events.Accepted}} accepted events</h2>
<table>
<tr><th>category</th><th class="n">events</th><th class="n">of accepted</th><th>meaning</th></tr>
{{range .Categories}}<tr{{if .Bad}} class="bad"{{end}}><td>{{.Name}}</td><td class="n">{{.Count}}</td><td class="n">{{.Share}}</td><td>{{.What}}</td></tr>
{{end}}</table>

<h2>Time to delivery</h2>
{{if .Latency}}<table><tr>{{range .Latency}}<th class="n">{{index . 0}}</th>{{end}}</tr><tr>{{range .Latency}}<td class="n">{{index . 1}}</td>{{end}}</tr></table>
{{.LatencyChart}}{{else}}<p>Nothing was delivered.</p>{{end}}

<h2>Timeline</h2>
{{if .TimelineChart}}{{.TimelineChart}}{{else}}<p>No records.</p>{{end}}

<h2>Delivery attempts</h2>
<p>{{.R.Attempts.Total}} attempts for {{.R.Events.Accepted}} accepted events: retry amplification <b>{{.R.Attempts.Amplification}}</b> (1 means no retries);
{{.R.Attempts.Failed}} failed, {{.R.Attempts.Faulted}} hit an injected fault. Per event: mean {{.R.Attempts.PerEvent.Mean}}, p50 {{.R.Attempts.PerEvent.P50}}, p99 {{.R.Attempts.PerEvent.P99}}, max {{.R.Attempts.PerEvent.Max}}.</p>
{{.AttemptsChart}}

{{if .Endpoint}}<h2>How the endpoint answered</h2>
<p>{{.Endpoint}} (injected faults aside).{{with .Failures}} Failed: {{.}}.{{end}}</p>
{{end}}{{.PercentileChart}}

{{if .Faults}}<h2>Fault windows</h2>
<table>
<tr><th></th><th>rule</th><th>fault</th><th>window</th><th class="n">attempts</th><th class="n">failed</th><th class="n">rate before</th><th class="n">peak after</th><th class="n">herd</th></tr>
{{range .Faults}}<tr>{{range $i, $c := .}}<td{{if ge $i 4}} class="n"{{end}}>{{$c}}</td>{{end}}</tr>
{{end}}</table>
<p class="muted">herd: the busiest second after the window closed, over the attempt rate before it opened.</p>
{{end}}

{{if .Phases}}<h2>Phases</h2>
<table>
<tr><th>phase</th><th>window</th><th class="n">accepted</th><th class="n">delivered</th><th class="n">lost</th><th class="n">dup</th><th class="n">dead</th><th class="n">pending</th><th class="n">p50</th><th class="n">p99</th></tr>
{{range .Phases}}<tr>{{range $i, $c := .}}<td{{if ge $i 2}} class="n"{{end}}>{{$c}}</td>{{end}}</tr>
{{end}}</table>
{{end}}

{{if .Groups}}<h2>Endpoints by group</h2>
<table>
<tr><th>group</th><th class="n">endpoints</th><th class="n">accepted</th><th class="n">delivered</th><th class="n">lost</th><th class="n">dead</th><th class="n">pending</th><th class="n">attempts</th><th class="n">ampl.</th><th class="n">p50</th><th class="n">p99</th><th class="n">herd</th></tr>
{{range .Groups}}<tr>{{range $i, $c := .}}<td{{if ge $i 1}} class="n"{{end}}>{{$c}}</td>{{end}}</tr>
{{end}}</table>
<p class="muted">herd: the group's busiest second after a fault window that touched it closed (its ratio over the rate before).</p>
{{end}}{{with .Isolation}}<p>{{.}}</p>
{{end}}
{{if or .Senders .Receivers}}<h2>Instances</h2>
{{with .Senders}}{{template "rows" .}}{{end}}{{with .InstanceNote}}<p class="muted">{{.}}</p>
{{end}}{{with .Receivers}}{{template "rows" .}}{{end}}{{end}}
{{define "rows"}}<table>
{{range $r, $row := .}}<tr>{{range $i, $c := $row}}{{if eq $r 0}}<th{{if ge $i 1}} class="n"{{end}}>{{$c}}</th>{{else}}<td{{if ge $i 1}} class="n"{{end}}>{{$c}}</td>{{end}}{{end}}</tr>
{{end}}</table>
{{end}}<h2>Assertions</h2>
{{if .R.Assertions}}<table>
{{range .R.Assertions}}<tr{{if not .Passed}} class="bad"{{end}}><td>{{if .Passed}}PASS{{else}}FAIL{{end}}</td><td><code>{{.Expr}}</code></td><td>{{.Message}}</td></tr>
{{end}}</table>{{else}}<p>None.</p>{{end}}
{{if .RunChecks}}<table>
{{range .RunChecks}}<tr class="bad"><td>FAIL</td><td><code>{{.Expr}}</code> (run check)</td><td>{{.Message}}</td></tr>
{{end}}</table>{{end}}

{{if .Examples}}<h2>Examples (first {{.R.Examples.Limit}} of each)</h2>
<table>{{range .Examples}}<tr><td>{{index . 0}}</td><td><code>{{index . 1}}</code></td></tr>{{end}}</table>
{{end}}

{{if .R.Notes}}<h2>Notes</h2>
<ul>{{range .R.Notes}}<li>{{.}}</li>{{end}}</ul>
{{end}}

<footer><p class="muted">{{.Footer}}</p></footer>
</body>
</html>
`)

// pageHead is the start every page shares, up to its title: its
// data needs a Title.
const pageHead = `{{define "head"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
{{template "style"}}
</head>
<body>
<h1>{{.Title}}</h1>
{{end}}`

// pageStyle is the look every page shares.
const pageStyle = `{{define "style"}}<style>
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; max-width: 64rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; }
h2 { font-size: 1.1rem; margin-top: 2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
.verdict { font-size: 1.2rem; font-weight: 600; padding: .5rem .8rem; border-radius: 4px; }
.pass { background: #e3f4e3; color: #1d5e1d; }
.fail { background: #fbe3e3; color: #8a1c1c; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { padding: .2rem .7rem; text-align: left; border-bottom: 1px solid #eee; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.bad td { color: #8a1c1c; font-weight: 600; }
.muted { color: #666; }
code { background: #f4f4f4; padding: 0 .25rem; border-radius: 3px; }
svg { max-width: 100%; height: auto; }
</style>{{end}}`

// pageTemplate parses a page that may use {{template "style"}}.
func pageTemplate(name, text string) *template.Template {
	t := template.Must(template.New("style").Parse(pageStyle + pageHead))
	return template.Must(t.New(name).Parse(text))
}
