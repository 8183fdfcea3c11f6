package report

import (
	"fmt"

	"github.com/hookrig/hookrig/sim/verdict"
)

// A fleet's figures by group, and its isolation line, as every format
// shows them: the rows are made here once.

// groupHeader names the per-group table's columns.
var groupHeader = []string{"group", "endpoints", "accepted", "delivered", "lost", "dead", "pending", "attempts", "ampl.", "p50", "p99", "herd"}

// groupRows are the per-group table's rows, only for a fleet of more than
// one group (a single group's row would repeat the totals).
func groupRows(r *verdict.Result) [][]string {
	if r.Endpoints == nil || len(r.Endpoints.Groups) < 2 {
		return nil
	}
	var rows [][]string
	for _, g := range r.Endpoints.Groups {
		name := g.Name
		if g.Sick {
			name += " (sick)"
		}
		p50, p99 := "-", "-"
		if g.Latency.Count > 0 {
			p50, p99 = fmtMs(g.Latency.P50), fmtMs(g.Latency.P99)
		}
		herd := "-"
		if h := g.Herd; h.PeakRate > 0 {
			herd = trimFloat(h.PeakRate, 1) + "/s"
			if h.Ratio > 0 {
				herd += " (" + trimFloat(h.Ratio, 1) + "×)"
			}
		}
		rows = append(rows, []string{name, fmt.Sprint(g.Endpoints), fmt.Sprint(g.Accepted), fmt.Sprint(g.Delivered),
			fmt.Sprint(g.Lost), fmt.Sprint(g.DeadLettered), fmt.Sprint(g.Pending), fmt.Sprint(g.Attempts),
			trimFloat(g.Amplification, 2), p50, p99, herd})
	}
	return rows
}

// isolationLine says how much the sick groups slowed the healthy ones,
// "" when the result has no isolation figure.
func isolationLine(r *verdict.Result) string {
	iso := r.Isolation
	if iso == nil {
		return ""
	}
	if !iso.Baseline {
		return fmt.Sprintf("isolation: the healthy groups' delivery p99 was %s; no baseline was measured (hookrig run --isolation runs the scenario again with the sick groups healed)", fmtMs(iso.P99Ms))
	}
	return fmt.Sprintf("isolation: the healthy groups' delivery p99 was %s, against %s with the sick groups healed: ratio %s (1 = the sick groups cost them nothing)",
		fmtMs(iso.P99Ms), fmtMs(iso.BaselineP99Ms), trimFloat(iso.Ratio, 2))
}

// fleet prints the per-group table and the isolation line.
func (t *textReport) fleet() {
	rows := groupRows(t.r)
	line := isolationLine(t.r)
	if rows == nil && line == "" {
		return
	}
	if rows != nil {
		t.section(fmt.Sprintf("Endpoints by group (%d groups; herd = the busiest second after a fault window that touched the group)", len(rows)))
		t.table(append([][]string{groupHeader}, rows...), "lrrrrrrrrrrr")
	}
	if line != "" {
		if rows == nil {
			t.printf("\n")
		}
		t.printf("  %s\n", line)
	}
}
