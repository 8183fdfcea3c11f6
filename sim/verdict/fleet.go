package verdict

import (
	"fmt"
	"slices"
	"time"
)

// This file breaks a fleet's figures down by group (a scenario's
// `endpoints:`), and measures isolation: how much the sick groups slowed
// the healthy ones. A run with one endpoint has no groups, and its Result
// neither the endpoints nor the isolation key.

// GroupInfo is one fleet group as the run planned it (RunInfo.Groups).
type GroupInfo struct {
	Name      string
	Endpoints int
	// Sick says the group has faults or a rate limit by design; the other
	// groups' delivery p99 is the isolation figure.
	Sick bool
}

// Fleet is a fleet's figures per group (Result.Endpoints).
type Fleet struct {
	Groups []GroupResult `json:"groups"`
}

// GroupResult is one group's row: its events by category, its attempts
// and time to delivery, under the top level's names.
type GroupResult struct {
	Name      string `json:"name"`
	Endpoints int    `json:"endpoints"`
	Sick      bool   `json:"sick"`
	// The group's events by category.
	EventCounts
	// Attempts on the group's events; Amplification is Attempts /
	// Accepted (1.0: no retries).
	Attempts      int64   `json:"attempts"`
	Failed        int64   `json:"failed"`
	Amplification float64 `json:"amplification"`
	// Latency is the group's time to delivery, in milliseconds.
	Latency LatencySummary `json:"latency_ms"`
	// Herd is the group's busiest second of attempts after a fault window
	// that touched it (its own or a scenario-wide one) closed, against its
	// rate before the window opened; whole seconds of the timeline.
	Herd Herd `json:"herd"`
	// HdrUs is the group's delivery-latency histogram (see Histograms).
	HdrUs string `json:"hdr_us"`
}

// Isolation compares the healthy groups' delivery p99 in this run (P99Ms)
// with their p99 when the sick groups are removed (BaselineP99Ms, set by
// SetIsolationBaseline; 0 until then). Ratio is P99Ms / BaselineP99Ms: 1
// when the sick groups cost the healthy ones nothing.
type Isolation struct {
	BaselineP99Ms float64 `json:"baseline_p99_ms"`
	P99Ms         float64 `json:"p99_ms"`
	Ratio         float64 `json:"ratio"`
	// Baseline says the baseline was measured.
	Baseline bool `json:"baseline"`
}

// SetIsolationBaseline fills the isolation figure from base, the same
// scenario run with its sick groups healed (scenarios.Scenario.Healed: no
// faults, no rate limits, the very same events): the delivery p99 of
// base's events in the groups that are healthy in r is their undisturbed
// p99. It does nothing when r has no isolation figure (no fleet, or no
// sick group).
func (r *Result) SetIsolationBaseline(base *Result) {
	if r.Isolation == nil || base == nil || base.Endpoints == nil {
		return
	}
	healthy := map[string]bool{}
	for _, g := range r.Endpoints.Groups {
		healthy[g.Name] = !g.Sick
	}
	h := NewHistogram()
	for _, g := range base.Endpoints.Groups {
		if !healthy[g.Name] {
			continue
		}
		gh, err := DecodeHistogram(g.HdrUs)
		if err != nil {
			continue // a result this package wrote always decodes
		}
		h.Merge(gh)
	}
	iso := r.Isolation
	iso.BaselineP99Ms = summarize(h, h.Min(), h.Max()).P99
	iso.Baseline = true
	iso.Ratio = 0
	if iso.BaselineP99Ms > 0 {
		iso.Ratio = round3(iso.P99Ms / iso.BaselineP99Ms)
	}
}

// fleetWork lays out the group rows of one Result computation.
type fleetWork struct {
	rows  []GroupResult
	rowOf []int // checker group index -> row
	// sick[row] says the row's group is sick; isolation is measured only
	// when some group is and some is not.
	sick      []bool
	isolation bool
}

// newFleetWork lays out the group rows: the run's groups in its order,
// then groups named only by records, by name. Nil when there are none.
func newFleetWork(c *Checker, run RunInfo) *fleetWork {
	if len(run.Groups) == 0 && len(c.groups.list) == 0 {
		return nil
	}
	f := &fleetWork{}
	rowOf := map[string]int{}
	anySick, anyHealthy := false, false
	for _, g := range run.Groups {
		if _, dup := rowOf[g.Name]; dup {
			continue
		}
		rowOf[g.Name] = len(f.rows)
		f.rows = append(f.rows, GroupResult{Name: g.Name, Endpoints: g.Endpoints, Sick: g.Sick})
		f.sick = append(f.sick, g.Sick)
		anySick = anySick || g.Sick
		anyHealthy = anyHealthy || !g.Sick
	}
	var extra []string
	for _, n := range c.groups.list {
		if _, ok := rowOf[n]; !ok {
			extra = append(extra, n)
		}
	}
	slices.Sort(extra)
	for _, n := range extra {
		rowOf[n] = len(f.rows)
		f.rows = append(f.rows, GroupResult{Name: n})
		f.sick = append(f.sick, false)
		anyHealthy = true
	}
	f.rowOf = make([]int, len(c.groups.list))
	for i, n := range c.groups.list {
		f.rowOf[i] = rowOf[n]
	}
	f.isolation = anySick && anyHealthy
	return f
}

// finish fills the result's endpoints and isolation sections from the
// groups' tallies in t.
func (f *fleetWork) finish(c *Checker, t *tally, res *Result, ws []FaultWindow, span int64) {
	if f == nil {
		return
	}
	folds := make([]rowFold, len(f.rows))
	for gi := range t.groups {
		folds[f.rowOf[gi]].add(&t.groups[gi])
	}
	res.Endpoints = &Fleet{Groups: make([]GroupResult, 0, len(f.rows))}
	perRow := make([][]int64, len(f.rows))
	for gi, secs := range c.groupSec {
		if gi >= len(f.rowOf) {
			continue
		}
		row := f.rowOf[gi]
		if perRow[row] == nil {
			perRow[row] = make([]int64, len(secs))
		}
		for s, n := range secs {
			perRow[row][s] += int64(n)
		}
	}
	// The healthy groups' latencies together: merging histograms is
	// exact, so this is the histogram of all their events.
	var healthy latency
	for i, r := range f.rows {
		g := &folds[i]
		r.EventCounts = g.EventCounts
		r.Attempts, r.Failed = g.attempts, g.failed
		if r.Accepted > 0 {
			r.Amplification = round4(float64(r.Attempts) / float64(r.Accepted))
		}
		r.Latency = g.lat.summary()
		r.HdrUs = EncodeHistogram(g.lat.histogram())
		r.Herd = groupHerd(r.Name, f.names(), ws, perRow[i], span)
		res.Endpoints.Groups = append(res.Endpoints.Groups, r)
		if !f.sick[i] {
			healthy.add(&g.lat)
		}
	}
	if f.isolation {
		res.Isolation = &Isolation{P99Ms: healthy.summary().P99}
	}
}

// names is the set of the rows' group names.
func (f *fleetWork) names() map[string]bool {
	m := make(map[string]bool, len(f.rows))
	for _, r := range f.rows {
		m[r.Name] = true
	}
	return m
}

// groupHerd is the worst retry storm in a group's attempts after a fault
// window that touched it closed: its own windows (named GROUP.RULE, as
// sim/plan names a group's rules) and the scenario-wide ones (no dot).
func groupHerd(group string, groups map[string]bool, ws []FaultWindow, attempted []int64, span int64) Herd {
	var mine []FaultWindow
	for _, w := range ws {
		if owner, _, dotted := cutGroup(w.Rule); !dotted || !groups[owner] || owner == group {
			mine = append(mine, w)
		}
	}
	if len(mine) == 0 {
		return Herd{}
	}
	// Whole seconds only: 10 ms ticks per group would cost 400 bytes a
	// second per group, too much for a day-long fleet.
	return worstHerd(faultResults(mine, make([][]int64, len(mine)), attempted, make([]int64, len(attempted)), span))
}

// cutGroup splits a group rule's name GROUP.RULE.
func cutGroup(rule string) (group, name string, ok bool) {
	for i := 0; i < len(rule); i++ {
		if rule[i] == '.' {
			return rule[:i], rule[i+1:], true
		}
	}
	return "", rule, false
}

// groupSecond counts an attempt of group g (≥ 0) in the second holding
// offset off.
func (c *Checker) groupSecond(g int16, off int64) {
	for int(g) >= len(c.groupSec) {
		c.groupSec = append(c.groupSec, nil)
	}
	s := min(off/int64(time.Second), maxTimelineSeconds-1)
	secs := c.groupSec[g]
	for int64(len(secs)) <= s {
		secs = append(secs, 0)
	}
	secs[s]++
	c.groupSec[g] = secs
}

// mergeFleet combines the shards' groups (Merge): counts add up, the
// latency histograms merge exactly, a group's herd is the shards' worst
// (their seconds are not kept per group, so it is not re-derived), and
// the isolation figure is recomputed over the merged healthy groups; a
// baseline does not merge (it needs the baseline run's histograms), so
// the merged result has none.
func mergeFleet(out *Result, results []*Result) error {
	type acc struct {
		row   GroupResult
		hists []string
		minUs int64
		maxUs int64
		seen  bool
	}
	var order []string
	groups := map[string]*acc{}
	for _, r := range results {
		if r.Endpoints == nil {
			continue
		}
		for _, g := range r.Endpoints.Groups {
			a, ok := groups[g.Name]
			if !ok {
				a = &acc{row: GroupResult{Name: g.Name, Endpoints: g.Endpoints, Sick: g.Sick}}
				groups[g.Name] = a
				order = append(order, g.Name)
			}
			row := &a.row
			row.Accepted += g.Accepted
			row.Delivered += g.Delivered
			row.Lost += g.Lost
			row.Duplicated += g.Duplicated
			row.DeadLettered += g.DeadLettered
			row.Pending += g.Pending
			row.Attempts += g.Attempts
			row.Failed += g.Failed
			if g.Herd.PeakRate > row.Herd.PeakRate {
				row.Herd = g.Herd
			}
			if g.Latency.Count > 0 {
				lo, hi := msToUs(g.Latency.Min), msToUs(g.Latency.Max)
				if !a.seen || lo < a.minUs {
					a.minUs = lo
				}
				a.maxUs, a.seen = max(a.maxUs, hi), true
			}
			a.hists = append(a.hists, g.HdrUs)
		}
	}
	if len(order) == 0 {
		return nil
	}
	out.Endpoints = &Fleet{}
	healthy := NewHistogram()
	var hMin, hMax int64
	anySick, anyHealthy := false, false
	for _, name := range order {
		a := groups[name]
		h, err := mergeHistograms(a.hists)
		if err != nil {
			return fmt.Errorf("merging group %q histograms: %w", name, err)
		}
		row := a.row
		row.Latency = summarize(h, a.minUs, a.maxUs)
		row.HdrUs = EncodeHistogram(h)
		if row.Accepted > 0 {
			row.Amplification = round4(float64(row.Attempts) / float64(row.Accepted))
		}
		if row.Sick {
			anySick = true
		} else {
			anyHealthy = true
			if a.seen {
				if healthy.TotalCount() == 0 || a.minUs < hMin {
					hMin = a.minUs
				}
				hMax = max(hMax, a.maxUs)
			}
			healthy.Merge(h)
		}
		out.Endpoints.Groups = append(out.Endpoints.Groups, row)
	}
	if anySick && anyHealthy {
		out.Isolation = &Isolation{P99Ms: summarize(healthy, hMin, hMax).P99}
	}
	return nil
}
