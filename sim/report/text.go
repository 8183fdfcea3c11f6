package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/hookrig/hookrig/sim/verdict"
)

// Widths of the text report's charts, in columns.
const (
	barWidth      = 40
	timelineWidth = 60
)

// WriteText writes a report for a terminal: a verdict, what happened to
// the events (each category explained), time to delivery with a
// histogram, attempts, a timeline with the fault windows marked, the
// fault and phase tables, the assertions and a footer to reproduce the
// run. Plain text, at most about 100 columns wide.
func WriteText(w io.Writer, r *verdict.Result) error {
	t := &textReport{w: bufio.NewWriter(w), r: r}
	t.header()
	t.events()
	t.latency()
	t.attempts()
	t.instances()
	t.endpoint()
	t.timeline()
	t.faults()
	t.phases()
	t.fleet()
	t.assertions()
	t.examples()
	t.notes()
	t.footer()
	if t.err != nil {
		return t.err
	}
	return t.w.Flush()
}

type textReport struct {
	w   *bufio.Writer
	r   *verdict.Result
	err error
}

func (t *textReport) printf(format string, args ...any) {
	fmt.Fprintf(t.w, format, args...)
}

func (t *textReport) section(title string) { t.printf("\n%s\n", title) }

// verdictLine is the one-line answer: did the scenario hold? A failed
// run check (nothing delivered, events left pending) fails it whatever
// the assertions say.
func verdictLine(r *verdict.Result) string {
	n := len(r.Assertions)
	switch why := r.FailureSummary(); {
	case why != "":
		return "FAIL  " + why
	case n == 0:
		return "DONE  no assertions to check"
	}
	return fmt.Sprintf("PASS  %s held", countWord(int64(n), "assertion", "all %d assertions"))
}

func countWord(n int64, one, many string) string {
	if n == 1 {
		return "the " + one
	}
	return fmt.Sprintf(many, n)
}

func (t *textReport) header() {
	r := t.r
	name := r.Scenario
	if name == "" {
		name = "(unnamed)"
	}
	t.printf("hookrig · scenario %s · %s run, seed %d · %s, load for %s\n",
		name, orDash(r.Mode), r.Seed, fmtS(r.Run.EndS), fmtS(r.Run.LoadEndS))
	if r.Description != "" {
		t.printf("%s\n", firstLine(r.Description))
	}
	e := r.Events
	t.printf("\n%s\n", verdictLine(r))
	t.printf("      %d accepted · %d delivered · %d lost · %d duplicated · %d dead-lettered · %d pending\n",
		e.Accepted, e.Delivered, e.Lost, e.Duplicated, e.DeadLettered, e.Pending)
	if !r.Target.IsReference() || r.Target.Sender == verdict.TriggerSender {
		t.printf("%s\n", wrap("tested: "+targetLine(r.Target), "      ", 100))
	}
	if len(r.Findings) > 0 {
		t.printf("\n%s\n", wrap("Finding: "+findingText(r), "      ", 100))
	}
}

func (t *textReport) events() {
	r := t.r
	e := r.Events
	t.section(fmt.Sprintf("What happened to the %d accepted %s (after the drain)", e.Accepted, plural(e.Accepted, "event", "events")))
	row := func(name string, n int64, share, what string) {
		t.printf("  %-15s %9d  %7s  %s\n", name, n, share, what)
	}
	row("delivered", e.Delivered, percent(e.Delivered, e.Accepted), "received and acknowledged (verified 2xx) at least once")
	row("lost", e.Lost, percent(e.Lost, e.Accepted), "never acknowledged, and the sender neither gave up nor kept trying")
	row("dead-lettered", e.DeadLettered, percent(e.DeadLettered, e.Accepted), "the sender gave up and says so (a known loss you can replay)")
	row("pending", e.Pending, percent(e.Pending, e.Accepted), "still being retried when the drain ended")
	t.printf("  and also\n")
	row("duplicated", e.Duplicated, percent(e.Duplicated, e.Accepted),
		fmt.Sprintf("acknowledged more than once (%d extra %s; %d caught by the receiver's dedupe)",
			e.DuplicateDeliveries, plural(e.DuplicateDeliveries, "delivery", "deliveries"), r.Receipts.Deduplicated))
	row("unexpected", e.Unexpected, "", "received but never accepted (forged, corrupted or foreign)")
	o := r.Ordering
	row("reordered", e.Reordered, "", fmt.Sprintf("same-key pairs received in the opposite order (%d of %d keys, %d events overtook an earlier one)",
		o.KeysReordered, o.Keys, o.EventsOutOfOrder))
	if e.DeadLetteredReceived > 0 {
		t.printf("  note: %d delivered %s also dead-lettered by the sender (acknowledgements lost): replaying the dead letters delivers %s again\n",
			e.DeadLetteredReceived, plural(e.DeadLetteredReceived, "event was", "events were"), plural(e.DeadLetteredReceived, "it", "them"))
	}
	if len(r.DeadLetterReasons) > 0 {
		t.printf("  dead-letter reasons:")
		for i, rc := range r.DeadLetterReasons {
			if i == 5 {
				t.printf(" …")
				break
			}
			t.printf(" %s (%d)", rc.Reason, rc.Count)
		}
		t.printf("\n")
	}
}

func (t *textReport) latency() {
	d := t.r.Latency.Delivery
	t.section(fmt.Sprintf("Time to delivery (acceptance → first acknowledged receipt), %d %s", d.Count, plural(d.Count, "event", "events")))
	if d.Count == 0 {
		t.printf("  nothing was delivered\n")
		return
	}
	t.printf("  p50 %s · p90 %s · p99 %s · p99.9 %s · max %s · mean %s\n",
		fmtMs(d.P50), fmtMs(d.P90), fmtMs(d.P99), fmtMs(d.P999), fmtMs(d.Max), fmtMs(d.Mean))
	rows, err := latencyRows(t.r)
	if err != nil {
		t.err = err
		return
	}
	var most, cum int64
	for _, row := range rows {
		most = max(most, row.Count)
	}
	t.printf("  %10s  %-*s %9s %8s\n", "at most", barWidth, "", "events", "cumul.")
	for _, row := range rows {
		cum += row.Count
		t.printf("  %10s  %-*s %9d %8s\n", boundLabel(row.UpperUs), barWidth, bar(row.Count, most, barWidth), row.Count, percent(cum, d.Count))
	}
}

// bar is a row of '#' for n of most, at least one for any n > 0.
func bar(n, most int64, width int) string {
	if n <= 0 || most <= 0 {
		return ""
	}
	return strings.Repeat("#", max(1, int(n*int64(width)/most)))
}

func (t *textReport) attempts() {
	r := t.r
	a := r.Attempts
	t.section("Delivery attempts")
	t.printf("  %d %s for %d accepted %s: retry amplification %.2f (1.00 means no retries)\n",
		a.Total, plural(a.Total, "attempt", "attempts"), r.Events.Accepted, plural(r.Events.Accepted, "event", "events"), a.Amplification)
	t.printf("  %d failed (transport error or non-2xx), %d hit an injected fault", a.Failed, a.Faulted)
	if a.Unmatched > 0 {
		t.printf(", %d more carried ids never accepted", a.Unmatched)
	}
	t.printf("\n")
	pe := a.PerEvent
	if len(pe.Counts) == 0 {
		return
	}
	t.printf("  per event: mean %.2f · p50 %d · p99 %d · max %d\n", pe.Mean, pe.P50, pe.P99, pe.Max)
	rows := attemptRows(pe.Counts, 12)
	var most int64
	for _, row := range rows {
		most = max(most, row.events)
	}
	t.printf("  %10s  %-*s %9s\n", "attempts", barWidth, "", "events")
	for _, row := range rows {
		t.printf("  %10s  %-*s %9d\n", row.label, barWidth, bar(row.events, most, barWidth), row.events)
	}
}

type attemptRow struct {
	label  string
	events int64
}

// attemptRows lists the attempts-per-event counts, folding everything
// past the first limit-1 values into one "≥ n" row.
func attemptRows(counts [][2]int64, limit int) []attemptRow {
	var rows []attemptRow
	for i, c := range counts {
		if i == limit-1 && len(counts) > limit {
			var rest int64
			for _, d := range counts[i:] {
				rest += d[1]
			}
			return append(rows, attemptRow{fmt.Sprintf("≥ %d", c[0]), rest})
		}
		rows = append(rows, attemptRow{fmt.Sprint(c[0]), c[1]})
	}
	return rows
}

// sparks are the levels of a sparkline, lowest first.
var sparks = []rune("▁▂▃▄▅▆▇█")

// sparkline draws one column per value, scaled to the largest.
func sparkline(vs []int64) string {
	var most int64
	for _, v := range vs {
		most = max(most, v)
	}
	var b strings.Builder
	for _, v := range vs {
		if v <= 0 {
			b.WriteByte(' ')
			continue
		}
		lvl := int((v*int64(len(sparks)) + most - 1) / most) // 1..len
		b.WriteRune(sparks[max(lvl, 1)-1])
	}
	return b.String()
}

// columns sums a timeline series into one value per chart column.
func columns(s []int64, per int) []int64 {
	out := make([]int64, (len(s)+per-1)/per)
	for i, v := range s {
		out[i/per] += v
	}
	return out
}

func (t *textReport) timeline() {
	r := t.r
	tl := r.Timeline
	n := len(tl.Accepted)
	if n == 0 {
		return
	}
	per := (n + timelineWidth - 1) / timelineWidth
	colS := float64(per) * float64(tl.StepS)
	t.section(fmt.Sprintf("Timeline: 0 s to %s, one column = %s (each row scaled to its own busiest column)", fmtS(float64(n)*float64(tl.StepS)), fmtS(colS)))
	series := []struct {
		name string
		s    []int64
	}{{"accepted", tl.Accepted}, {"attempted", tl.Attempted}, {"delivered", tl.Delivered}, {"failed", tl.Failed}}
	var width int
	for _, sr := range series {
		cols := columns(sr.s, per)
		width = len(cols)
		var most int64
		for _, v := range cols {
			most = max(most, v)
		}
		t.printf("  %-10s │%s│ peak %s/s\n", sr.name, sparkline(cols), trimFloat(float64(most)/colS, 1))
	}
	if len(r.Faults) == 0 {
		return
	}
	marks := []rune(strings.Repeat(" ", width))
	for i, f := range r.Faults {
		for c := range width {
			from, to := float64(c)*colS, float64(c+1)*colS
			if f.StartS < to && f.EndS > from {
				marks[c] = faultMark(i)
			}
		}
	}
	t.printf("  %-10s │%s│\n", "faults", string(marks))
	for i, f := range r.Faults {
		t.printf("  %10c  %s (%s) from %s to %s\n", faultMark(i), f.Rule, f.Fault, fmtS(f.StartS), fmtS(f.EndS))
	}
}

// faultMark labels fault window i on the timeline: A, B, C, ...
func faultMark(i int) rune {
	if i < 26 {
		return rune('A' + i)
	}
	return '#'
}

func (t *textReport) faults() {
	r := t.r
	if len(r.Faults) == 0 {
		return
	}
	t.section("Fault windows, and the retry storm after each closed")
	rows := [][]string{{"", "rule", "fault", "window", "attempts", "failed", "rate before", "peak after", "at", "herd"}}
	for i, f := range r.Faults {
		herd := "n/a"
		if f.HerdRatio > 0 {
			herd = trimFloat(f.HerdRatio, 1) + "×"
		}
		peak := trimFloat(f.PeakRateAfter, 1) + "/s"
		if f.PeakIsUpperBound {
			peak = "≤ " + peak
		}
		rows = append(rows, []string{string(faultMark(i)), f.Rule, f.Fault, fmtS(f.StartS) + " – " + fmtS(f.EndS),
			fmt.Sprint(f.Attempts), fmt.Sprint(f.Failed), trimFloat(f.RateBefore, 1) + "/s", peak, fmtS(f.PeakAtS), herd})
	}
	t.table(rows, "llllrrrrrr")
	t.printf("  herd = the busiest second after the window closed over the attempt rate before it opened\n")
}

func (t *textReport) phases() {
	r := t.r
	if len(r.Phases) == 0 {
		return
	}
	t.section("Phases (events by the phase they were accepted in)")
	rows := [][]string{{"phase", "window", "accepted", "delivered", "lost", "dup", "dead", "pending", "p50", "p99"}}
	for _, p := range r.Phases {
		window := "-"
		if p.EndS > p.StartS {
			window = fmtS(p.StartS) + " – " + fmtS(p.EndS)
		}
		rows = append(rows, []string{p.Name, window, fmt.Sprint(p.Accepted), fmt.Sprint(p.Delivered), fmt.Sprint(p.Lost),
			fmt.Sprint(p.Duplicated), fmt.Sprint(p.DeadLettered), fmt.Sprint(p.Pending), fmtMs(p.P50Ms), fmtMs(p.P99Ms)})
	}
	t.table(rows, "llrrrrrrrr")
}

// table prints rows in aligned columns; align has 'l' or 'r' per column.
func (t *textReport) table(rows [][]string, align string) { t.printf("%s", alignRows(rows, align)) }

// alignRows lays rows out in aligned columns, one line each, indented by
// two spaces; align has 'l' or 'r' per column.
func alignRows(rows [][]string, align string) string {
	widths := make([]int, len(align))
	for _, row := range rows {
		for i, cell := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	var out strings.Builder
	for _, row := range rows {
		var b strings.Builder
		b.WriteString(" ")
		for i, cell := range row {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell))
			b.WriteString(" ")
			if align[i] == 'r' {
				b.WriteString(pad + cell)
			} else {
				b.WriteString(cell + pad)
			}
			b.WriteString(" ")
		}
		out.WriteString(strings.TrimRight(b.String(), " ") + "\n")
	}
	return out.String()
}

func (t *textReport) assertions() {
	r := t.r
	t.section("Assertions")
	defer t.runChecks()
	if len(r.Assertions) == 0 {
		t.printf("  none (add some to the scenario, e.g. lost == 0)\n")
		return
	}
	for _, a := range r.Assertions {
		status := "PASS"
		if !a.Passed {
			status = "FAIL"
		}
		t.printf("  %s  %s\n", status, a.Expr)
		if !a.Passed && a.Message != "" {
			t.printf("        %s\n", a.Message)
		}
	}
}

func (t *textReport) examples() {
	ex := t.r.Examples
	lists := []struct {
		name string
		ids  []string
	}{
		{"lost", ex.Lost}, {"duplicated", ex.Duplicated}, {"dead-lettered", ex.DeadLettered},
		{"pending", ex.Pending}, {"unexpected", ex.Unexpected}, {"reordered keys", ex.ReorderedKeys},
	}
	shown := false
	for _, l := range lists {
		if len(l.ids) == 0 {
			continue
		}
		if !shown {
			t.section(fmt.Sprintf("Examples (first %d of each)", ex.Limit))
			shown = true
		}
		t.printf("  %-15s %s\n", l.name, strings.Join(l.ids, " "))
	}
}

func (t *textReport) notes() {
	if len(t.r.Notes) == 0 {
		return
	}
	t.section("Notes")
	for _, n := range t.r.Notes {
		t.printf("  - %s\n", n)
	}
}

func (t *textReport) footer() { t.printf("\n%s", footerText(t.r)) }

// footerText says how to find the run again: seed, trace hash, how fast
// it went (when the runner said), and the command that replays it.
func footerText(r *verdict.Result) string {
	parts := []string{fmt.Sprintf("seed %d", r.Seed)}
	if r.TraceHash != "" {
		parts = append(parts, "trace "+r.TraceHash)
	}
	if r.Shards > 0 {
		parts = append(parts, fmt.Sprintf("merged from %d runs", r.Shards))
	}
	if r.WallTime > 0 {
		parts = append(parts, "wall time "+fmtMs(float64(r.WallTime.Microseconds())/1000))
	}
	if r.SpeedUp > 0 {
		parts = append(parts, trimFloat(r.SpeedUp, 1)+"× real time")
	}
	s := strings.Join(parts, " · ") + "\n"
	if r.Replay != "" {
		s += "replay: " + r.Replay + "\n"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
