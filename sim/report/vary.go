package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/hookrig/hookrig/sim/verdict"
)

// varyColumns are the figures a --vary table compares, as means over the
// seeds (delivery.p99_ms: the median seed's).
var varyColumns = []struct{ metric, head string }{
	{"lost", "lost"},
	{"dead_lettered", "dead-lettered"},
	{"duplicated", "duplicated"},
	{"attempts.amplification", "amplification"},
	{"delivery.p99_ms", "delivery p99"},
}

// RenderVary writes a --vary comparison: text (a table, one row a value)
// or json.
func RenderVary(w io.Writer, r *verdict.VaryResult, f Format) error {
	switch f {
	case Text:
		return WriteVaryText(w, r)
	case JSON:
		return writeIndented(w, r, "comparison")
	case JUnit, HTML:
		return fmt.Errorf("--vary compares values in a table: use --report text or json (or --set one value with --seeds for %s)", f)
	}
	_, err := ParseFormat(string(f))
	return err
}

// WriteVaryText writes the comparison for people.
func WriteVaryText(w io.Writer, r *verdict.VaryResult) error {
	var b strings.Builder
	if len(r.Values) == 0 {
		return fmt.Errorf("an empty comparison")
	}
	first := r.Values[0].Sweep
	fmt.Fprintf(&b, "hookrig · scenario %s · %s over %s each (%d to %d) in virtual time\n\n",
		orDash(r.Scenario), r.Path, seedsWord(first.Count), first.First, first.First+first.Count-1)
	name := r.Path[strings.LastIndex(r.Path, ".")+1:]
	rows := [][]string{{name, "seeds failed"}}
	for _, c := range varyColumns {
		rows[0] = append(rows[0], c.head)
	}
	for _, v := range r.Values {
		row := []string{v.Value, fmt.Sprintf("%d of %d", v.Sweep.Failed, v.Sweep.Count)}
		for _, c := range varyColumns {
			row = append(row, varyCell(v.Sweep, c.metric))
		}
		rows = append(rows, row)
	}
	b.WriteString(alignRows(rows, "lr"+strings.Repeat("r", len(varyColumns))))
	b.WriteString("\nmeans over the seeds; delivery p99 is the median seed's. Each value's failing seeds: hookrig sim ... --set " + r.Path + "=VALUE --seeds N\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func varyCell(s *verdict.SweepResult, metric string) string {
	for _, m := range s.Spread {
		if m.Metric != metric {
			continue
		}
		if metric == "delivery.p99_ms" {
			return fmtMs(m.P50)
		}
		return sweepNum(m.Mean)
	}
	return "-"
}
