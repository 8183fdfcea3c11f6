package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim/verdict"
	"github.com/hookrig/hookrig/sim/virtual"
)

// Agreement is one number of a live run and a virtual run of the same
// scenario side by side, and whether they agree within the tolerance the
// simulator promises (issue 6): lost and dead-lettered equal; duplicates,
// attempts per event and retry amplification within 10%; delivery p50
// and p99 within 25% (live has real scheduling noise). Rows without a
// tolerance are shown for context only.
type Agreement struct {
	Metric        string
	Live, Virtual float64
	// Tolerance is the largest relative difference allowed (0: must be
	// equal); negative: not judged.
	Tolerance float64
	OK        bool
	// Noise: a delivery percentile outside its tolerance whose live value
	// lies among the deliveries nothing delayed (Undelayed). There it
	// measures the machine's scheduling noise at that moment (GC, other
	// processes), which the model does not reproduce, not what a policy
	// or a fault did; such a row is shown, marked, and not held against
	// the agreement. Percentiles the policy and the faults set (an
	// outage's p99 in seconds) are still held to their tolerance.
	Noise bool
}

// Diff is the relative difference, virtual against live (0 when both
// are 0).
func (a Agreement) Diff() float64 {
	if a.Live == a.Virtual {
		return 0
	}
	return (a.Virtual - a.Live) / math.Max(math.Abs(a.Live), 1e-9)
}

// Judged says whether the row has a tolerance.
func (a Agreement) Judged() bool { return a.Tolerance >= 0 }

// Compare lines a live and a virtual result up, metric by metric.
func Compare(live, virtual *verdict.Result) []Agreement {
	l, v := live, virtual
	rows := []Agreement{
		{Metric: "accepted", Live: float64(l.Events.Accepted), Virtual: float64(v.Events.Accepted), Tolerance: -1},
		{Metric: "delivered", Live: float64(l.Events.Delivered), Virtual: float64(v.Events.Delivered), Tolerance: -1},
		{Metric: "lost", Live: float64(l.Events.Lost), Virtual: float64(v.Events.Lost), Tolerance: 0},
		{Metric: "dead_lettered", Live: float64(l.Events.DeadLettered), Virtual: float64(v.Events.DeadLettered), Tolerance: 0},
		{Metric: "pending", Live: float64(l.Events.Pending), Virtual: float64(v.Events.Pending), Tolerance: -1},
		{Metric: "duplicated", Live: float64(l.Events.Duplicated), Virtual: float64(v.Events.Duplicated), Tolerance: 0.10},
		{Metric: "duplicate_deliveries", Live: float64(l.Events.DuplicateDeliveries), Virtual: float64(v.Events.DuplicateDeliveries), Tolerance: 0.10},
		{Metric: "reordered", Live: float64(l.Events.Reordered), Virtual: float64(v.Events.Reordered), Tolerance: -1},
		{Metric: "attempts.total", Live: float64(l.Attempts.Total), Virtual: float64(v.Attempts.Total), Tolerance: -1},
		{Metric: "attempts.per_event.mean", Live: l.Attempts.PerEvent.Mean, Virtual: v.Attempts.PerEvent.Mean, Tolerance: 0.10},
		{Metric: "attempts.per_event.max", Live: float64(l.Attempts.PerEvent.Max), Virtual: float64(v.Attempts.PerEvent.Max), Tolerance: -1},
		{Metric: "attempts.amplification", Live: l.Attempts.Amplification, Virtual: v.Attempts.Amplification, Tolerance: 0.10},
		{Metric: "delivery.p50 (ms)", Live: l.Latency.Delivery.P50, Virtual: v.Latency.Delivery.P50, Tolerance: 0.25},
		{Metric: "delivery.p99 (ms)", Live: l.Latency.Delivery.P99, Virtual: v.Latency.Delivery.P99, Tolerance: 0.25},
		{Metric: "delivery.max (ms)", Live: l.Latency.Delivery.Max, Virtual: v.Latency.Delivery.Max, Tolerance: -1},
		{Metric: "herd.ratio", Live: l.Herd.Ratio, Virtual: v.Herd.Ratio, Tolerance: -1},
		{Metric: "load.rejected", Live: float64(l.Load.Rejected), Virtual: float64(v.Load.Rejected), Tolerance: -1},
	}
	rows = append(rows, compareGroups(l, v)...)
	for i := range rows {
		r := &rows[i]
		r.OK = !r.Judged() || math.Abs(r.Diff()) <= r.Tolerance+1e-9
		if !r.OK && strings.HasPrefix(r.Metric, "delivery.") && Undelayed(live, r.Live) {
			r.OK, r.Noise = true, true
		}
	}
	return rows
}

// compareGroups lines a fleet's groups up (those in both results), under
// the top level's tolerances: lost equal, amplification within 10%; each
// group's p99 and the isolation ratio are shown for context.
func compareGroups(l, v *verdict.Result) []Agreement {
	if l.Endpoints == nil || v.Endpoints == nil {
		return nil
	}
	var rows []Agreement
	for _, lg := range l.Endpoints.Groups {
		for _, vg := range v.Endpoints.Groups {
			if vg.Name != lg.Name {
				continue
			}
			p := "groups." + lg.Name + "."
			rows = append(rows,
				Agreement{Metric: p + "lost", Live: float64(lg.Lost), Virtual: float64(vg.Lost), Tolerance: 0},
				Agreement{Metric: p + "amplification", Live: lg.Amplification, Virtual: vg.Amplification, Tolerance: 0.10},
				Agreement{Metric: p + "p99 (ms)", Live: lg.Latency.P99, Virtual: vg.Latency.P99, Tolerance: -1})
		}
	}
	if l.Isolation != nil && v.Isolation != nil && l.Isolation.Baseline && v.Isolation.Baseline {
		rows = append(rows, Agreement{Metric: "isolation.ratio", Live: l.Isolation.Ratio, Virtual: v.Isolation.Ratio, Tolerance: -1})
	}
	return rows
}

// Agree says whether every judged row agrees.
func Agree(rows []Agreement) bool {
	for _, r := range rows {
		if !r.OK {
			return false
		}
	}
	return true
}

// WriteComparison prints rows as a table: metric, live, virtual, the
// difference, the tolerance and a verdict.
func WriteComparison(w io.Writer, rows []Agreement) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "metric\tlive\tvirtual\tdiff\ttolerance\t\t\n")
	for _, r := range rows {
		tol, verdict := "", ""
		if r.Judged() {
			tol, verdict = "equal", "ok"
			if r.Tolerance > 0 {
				tol = fmt.Sprintf("±%.0f%%", 100*r.Tolerance)
			}
			switch {
			case r.Noise:
				verdict = "noise"
			case !r.OK:
				verdict = "DIFFERS"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Metric, number(r.Live), number(r.Virtual), percentDiff(r), tol, verdict)
	}
	return tw.Flush()
}

func number(x float64) string {
	if x == math.Trunc(x) && math.Abs(x) < 1e15 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.4g", x)
}

func percentDiff(r Agreement) string {
	d := r.Diff()
	if d == 0 {
		return "0%"
	}
	if r.Live == 0 {
		return "new"
	}
	return fmt.Sprintf("%+.1f%%", 100*d)
}

// BaseLatency is how long an event that nothing delayed takes to be
// delivered: what a machine's speed sets, not what a policy or a fault
// decides. It is read off the fast cluster of the run's deliveries (those
// within twenty times the 10th percentile): at the rank where the run's
// median falls, when most events were not delayed; otherwise (the median
// is the policy's doing) as the median delivery of a load phase that
// ended before the first fault window opened, or failing one, the fast
// cluster's own median.
func BaseLatency(r *verdict.Result) (time.Duration, error) {
	m, err := baseMeasure(r)
	if err != nil {
		return 0, err
	}
	return m.read(r)
}

// baseMeasure is how BaseLatency reads a run: in one phase, or at one
// rank of the fast cluster. CalibrateModel reads the virtual run the way
// it read the live one.
type baseMeasurement struct {
	phase string  // a healthy phase's name, or "" for the fast cluster
	rank  float64 // the fast cluster's quantile
}

func baseMeasure(r *verdict.Result) (baseMeasurement, error) {
	fast, total, err := fastCluster(r)
	if err != nil {
		return baseMeasurement{}, err
	}
	if 2*fast >= total {
		return baseMeasurement{rank: 0.5 * float64(total) / float64(fast)}, nil
	}
	firstFault := math.Inf(1)
	for _, f := range r.Faults {
		firstFault = min(firstFault, f.StartS)
	}
	for _, p := range r.Phases {
		if p.EndS > 0 && p.EndS <= firstFault && p.Delivered >= 10 {
			return baseMeasurement{phase: p.Name}, nil
		}
	}
	return baseMeasurement{rank: 0.5}, nil
}

func (m baseMeasurement) read(r *verdict.Result) (time.Duration, error) {
	if m.phase == "" {
		return fastQuantile(r, m.rank)
	}
	for _, p := range r.Phases {
		if p.Name == m.phase && p.Delivered > 0 {
			return time.Duration(p.P50Ms * float64(time.Millisecond)), nil
		}
	}
	return 0, fmt.Errorf("sim: nothing delivered in phase %s", m.phase)
}

// fastCluster counts r's fast deliveries, and all of them.
func fastCluster(r *verdict.Result) (fast, total int64, err error) {
	h, err := r.DeliveryHistogram()
	if err != nil {
		return 0, 0, err
	}
	if h.TotalCount() == 0 {
		return 0, 0, errors.New("sim: nothing was delivered")
	}
	cut := 20 * h.ValueAtQuantile(10)
	for _, b := range h.Distribution() {
		if b.From <= cut {
			fast += b.Count
		}
	}
	return fast, h.TotalCount(), nil
}

// Undelayed reports whether a delivery latency of ms milliseconds lies
// among r's undelayed deliveries (the fast cluster BaseLatency reads):
// a percentile there measures the machine's scheduling noise, not what a
// policy or a fault did.
func Undelayed(r *verdict.Result, ms float64) bool {
	h, err := r.DeliveryHistogram()
	if err != nil || h.TotalCount() == 0 {
		return false
	}
	return ms*1000 <= float64(20*h.ValueAtQuantile(10))
}

// fastQuantile is the q-quantile of r's fast deliveries.
func fastQuantile(r *verdict.Result, q float64) (time.Duration, error) {
	fast, _, err := fastCluster(r)
	if err != nil {
		return 0, err
	}
	h, _ := r.DeliveryHistogram()
	rank := max(int64(math.Ceil(q*float64(fast))), 1)
	var n, last int64
	for _, b := range h.Distribution() {
		if b.Count == 0 {
			continue
		}
		last = b.To
		if n += b.Count; n >= rank {
			break
		}
	}
	return time.Duration(last) * time.Microsecond, nil
}

// CalibrateModel scales m to this machine: so that a virtual run of s
// delivers undelayed events as fast as the live run did (see
// BaseLatency; the virtual run is measured the same way). A model's
// constants describe a machine, and a live run tells how fast this one
// was just now (on a shared box it changes from one run to the next).
func CalibrateModel(ctx context.Context, s *scenarios.Scenario, live *verdict.Result, m virtual.Model) (virtual.Model, error) {
	how, err := baseMeasure(live)
	if err != nil {
		return m, fmt.Errorf("calibrating on the live run: %w", err)
	}
	want, err := how.read(live)
	if err != nil {
		return m, fmt.Errorf("calibrating on the live run: %w", err)
	}
	v, _, err := RunVirtual(ctx, s, virtual.Options{Model: &m})
	if err != nil {
		return m, err
	}
	got, err := how.read(v)
	if err != nil || got <= 0 || want <= 0 {
		return m, fmt.Errorf("calibrating on the virtual run: base latency %s live, %s virtual (%v)", want, got, err)
	}
	return m.Scaled(float64(want) / float64(got)), nil
}
