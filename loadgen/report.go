package loadgen

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// WriteReport writes the human-readable report of a result.
func WriteReport(w io.Writer, r *Result) error {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }

	what := "closed loop (maximum throughput)"
	if r.Mode == "open" {
		what = "open loop, " + r.Pacer
	}
	p("hookrig bench: %s, target %s\n", what, r.Target)
	if r.Shards > 1 {
		p("  shards       %d merged\n", r.Shards)
	}
	if r.Interrupted {
		p("  INTERRUPTED  after %s: the figures cover what ran\n", round(r.Elapsed))
	}
	p("  duration     %s sending, %s until the last answer, %d connections\n", round(r.Duration), round(r.Elapsed), r.Connections)
	p("  requests     %d sent, %d answered or failed", r.Requests, r.Completed)
	if r.Mode == "open" {
		p(", %d never sent", r.NeverSent)
	}
	if r.Duplicates > 0 {
		p(", %d duplicates (same webhook-id again)", r.Duplicates)
	}
	p("\n")
	if r.Mode == "open" {
		p("  rate         asked %s/s, achieved %s/s (%.2f%%)\n", rate(r.RateRequested), rate(r.RateAchieved), pct(r.RateAchieved, r.RateRequested))
	} else {
		p("  rate         %s/s\n", rate(r.RateAchieved))
	}
	p("  success      %.2f%% answered 2xx\n", 100*r.Success())
	p("  status       %s\n", countsByKey(r.StatusCodes))
	p("  errors       %s\n", countsByKey(r.Errors))
	if s := r.Duration.Seconds(); s > 0 {
		p("  traffic      sent %s (%s/s), received %s (%s/s)\n", bytesOf(float64(r.BytesSent)), bytesOf(float64(r.BytesSent)/s),
			bytesOf(float64(r.BytesReceived)), bytesOf(float64(r.BytesReceived)/s))
	}
	for _, warn := range warnings(r) {
		p("  WARNING      %s\n", warn)
	}

	p("\n  latency (ms)         p50        p90        p99      p99.9        max\n")
	row := func(name string, h *hdr.Histogram) {
		s := Summarize(h)
		if s.Count == 0 {
			return
		}
		p("  %-14s %10s %10s %10s %10s %10s\n", name, msec(s.P50), msec(s.P90), msec(s.P99), msec(s.P999), msec(s.Max))
	}
	if r.Mode == "open" {
		row("corrected", r.Corrected)
		row("uncorrected", r.Uncorrected)
		row("scheduler lag", r.Lag)
	} else {
		row("per request", r.Uncorrected)
	}
	if len(r.Classes) > 1 {
		for _, name := range slices.Sorted(maps.Keys(r.Classes)) {
			row(name, r.Classes[name].Corrected)
		}
	}
	if r.Mode == "open" {
		p("  (corrected: from each request's intended send time; uncorrected: from when it was sent)\n")
	}
	if r.Corrected != nil && r.Corrected.TotalCount() > 0 {
		title := "latency"
		if r.Mode == "open" {
			title = "corrected latency"
		}
		p("\n  %s distribution (ms)\n", title)
		b.WriteString(asciiHistogram(r.Corrected, 12, 40))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// warnings point out what makes the figures mean less than they seem.
func warnings(r *Result) []string {
	var out []string
	if r.Mode == "open" && r.RateRequested > 0 && (r.NeverSent > 0 || r.RateAchieved < 0.99*r.RateRequested) && !r.Interrupted {
		out = append(out, fmt.Sprintf("the target could not keep up: %s/s achieved of %s/s asked, %d requests never sent",
			rate(r.RateAchieved), rate(r.RateRequested), r.NeverSent))
	}
	if r.Mode == "open" && r.Lag != nil && r.Lag.TotalCount() > 0 {
		if lag := time.Duration(r.Lag.ValueAtPercentile(99)) * time.Microsecond; lag > 5*time.Millisecond {
			out = append(out, fmt.Sprintf("p99 scheduler lag %s: requests left late (target slow, every connection busy, or this machine short of CPU)", msec(lag)+"ms"))
		}
	}
	if r.Completed > 0 && r.ErrorCount() == r.Completed {
		out = append(out, "no request got an HTTP answer")
	}
	return out
}

// asciiHistogram draws the distribution in rows spaced evenly on a log
// scale between the smallest and largest value.
func asciiHistogram(h *hdr.Histogram, rows, width int) string {
	lo, hi := float64(max(h.Min(), 1)), float64(max(h.Max(), 1))
	if hi <= lo {
		hi = lo + 1
	}
	counts := make([]int64, rows)
	edges := make([]float64, rows+1)
	for i := range edges {
		edges[i] = lo * math.Pow(hi/lo, float64(i)/float64(rows))
	}
	for _, bar := range h.Distribution() {
		if bar.Count == 0 {
			continue
		}
		v := float64(bar.From)
		i := 0
		if v > lo {
			i = int(float64(rows) * math.Log(v/lo) / math.Log(hi/lo))
		}
		counts[min(max(i, 0), rows-1)] += bar.Count
	}
	var most int64
	for _, c := range counts {
		most = max(most, c)
	}
	total := float64(h.TotalCount())
	var b strings.Builder
	for i, c := range counts {
		n := 0
		if most > 0 {
			n = int(math.Round(float64(width) * float64(c) / float64(most)))
		}
		if c > 0 && n == 0 {
			n = 1
		}
		fmt.Fprintf(&b, "  %8s - %-8s |%-*s %9d %5.1f%%\n", msec(time.Duration(edges[i])*time.Microsecond),
			msec(time.Duration(edges[i+1])*time.Microsecond), width, strings.Repeat("#", n), c, 100*float64(c)/total)
	}
	return b.String()
}

func msec(d time.Duration) string {
	ms := float64(d) / 1e6
	switch {
	case ms < 10:
		return fmt.Sprintf("%.3f", ms)
	case ms < 1000:
		return fmt.Sprintf("%.2f", ms)
	}
	return fmt.Sprintf("%.0f", ms)
}

func rate(r float64) string {
	if r >= 100 {
		return fmt.Sprintf("%.1f", r)
	}
	return fmt.Sprintf("%.3g", r)
}

func pct(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return 100 * a / b
}

func round(d time.Duration) time.Duration {
	if d > time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Microsecond)
}

func bytesOf(n float64) string {
	for _, u := range []string{"B", "KB", "MB", "GB"} {
		if n < 1000 || u == "GB" {
			if u == "B" {
				return fmt.Sprintf("%.0f %s", n, u)
			}
			return fmt.Sprintf("%.1f %s", n, u)
		}
		n /= 1000
	}
	return ""
}

func countsByKey[K int | string](m map[K]uint64) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%v: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
