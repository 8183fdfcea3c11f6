package verdict

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Merge combines results of the same scenario (shards of one load, run
// side by side) into one, as if one checker had seen every record: counts
// add up, histograms merge exactly, so percentiles are those of all the
// events together. Fault-window peaks are re-derived from the merged
// per-second timeline; when the timeline is coarser than a second the
// peak is the shards' sum and marked as an upper bound. Assertions are
// per run and are not carried over: evaluate them on the merged result
// (Check). The inputs are not modified.
func Merge(results ...*Result) (*Result, error) {
	if len(results) == 0 {
		return nil, errors.New("sim: nothing to merge")
	}
	first := results[0]
	out := &Result{
		Schema:      Schema,
		Scenario:    first.Scenario,
		Description: first.Description,
		Mode:        first.Mode,
		Seed:        first.Seed,
		Passed:      true,
	}
	for i, r := range results {
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("result %d: %w", i+1, err)
		}
		if r.Scenario != first.Scenario {
			return nil, fmt.Errorf("result %d is of scenario %q, result 1 of %q: only results of one scenario merge", i+1, r.Scenario, first.Scenario)
		}
		if r.Mode != first.Mode {
			return nil, fmt.Errorf("result %d is a %s run, result 1 a %s run: they do not merge", i+1, r.Mode, first.Mode)
		}
		if len(r.Faults) != len(first.Faults) {
			return nil, fmt.Errorf("result %d has %d fault windows, result 1 has %d: not the same scenario timeline", i+1, len(r.Faults), len(first.Faults))
		}
		for j, f := range r.Faults {
			if f.Rule != first.Faults[j].Rule || f.StartS != first.Faults[j].StartS || f.EndS != first.Faults[j].EndS {
				return nil, fmt.Errorf("result %d: fault window %d (%s) differs from result 1's", i+1, j+1, f.Rule)
			}
		}
		out.Shards += max(r.Shards, 1)
	}

	var m merger
	for _, r := range results {
		if err := m.add(out, r); err != nil {
			return nil, err
		}
	}
	if err := m.finish(out, results); err != nil {
		return nil, err
	}
	if err := mergeFleet(out, results); err != nil {
		return nil, err
	}
	out.normalize()
	return out, nil
}

// merger accumulates what does not simply add up.
type merger struct {
	delivery     []string // encoded histograms
	minUs, maxUs int64
	delivered    bool // minUs is set
	phases       []*phaseAcc
	perEvent     map[int64]int64
	reasons      map[string]int64
	timeline     *Timeline
	limit        int
	examples     Examples
	response     []string // encoded endpoint response histograms
	respMinUs    int64
	respMaxUs    int64
	answered     bool // respMinUs is set
	causes       map[[2]string]int64
	notes        []string
}

type phaseAcc struct {
	row   PhaseResult
	hists []string
	maxUs int64
}

func (m *merger) add(out *Result, r *Result) error {
	out.Events.add(r.Events)
	out.Receipts.add(r.Receipts)
	out.Ordering.add(r.Ordering)

	a := &out.Attempts
	a.Total += r.Attempts.Total
	a.Failed += r.Attempts.Failed
	a.Faulted += r.Attempts.Faulted
	a.Unmatched += r.Attempts.Unmatched
	if m.perEvent == nil {
		m.perEvent = map[int64]int64{}
		m.reasons = map[string]int64{}
	}
	for _, c := range r.Attempts.PerEvent.Counts {
		m.perEvent[c[0]] += c[1]
	}

	out.Load.Sent += r.Load.Sent
	out.Load.Rejected += r.Load.Rejected
	out.Run.LoadEndS = max(out.Run.LoadEndS, r.Run.LoadEndS)
	out.Run.EndS = max(out.Run.EndS, r.Run.EndS)
	out.Run.DrainTimedOut = out.Run.DrainTimedOut || r.Run.DrainTimedOut

	d := r.Latency.Delivery
	if d.Count > 0 {
		lo, hi := msToUs(d.Min), msToUs(d.Max)
		if !m.delivered || lo < m.minUs {
			m.minUs = lo
		}
		m.maxUs = max(m.maxUs, hi)
		m.delivered = true
	}
	m.delivery = append(m.delivery, r.Histograms.DeliveryUs)

	for _, p := range r.Phases {
		i := slices.IndexFunc(m.phases, func(q *phaseAcc) bool { return q.row.Name == p.Name })
		if i < 0 {
			m.phases = append(m.phases, &phaseAcc{row: PhaseResult{Name: p.Name, StartS: p.StartS, EndS: p.EndS}})
			i = len(m.phases) - 1
		}
		q := m.phases[i]
		q.row.StartS = min(q.row.StartS, p.StartS)
		q.row.EndS = max(q.row.EndS, p.EndS)
		q.row.addCounts(p)
		q.hists = append(q.hists, p.HdrUs)
		q.maxUs = max(q.maxUs, msToUs(p.MaxMs))
	}

	for _, rc := range r.DeadLetterReasons {
		m.reasons[rc.Reason] += rc.Count
	}
	m.addEndpoint(out, r)

	if err := m.addTimeline(r.Timeline); err != nil {
		return err
	}

	m.limit = max(m.limit, r.Examples.Limit)
	ex := &m.examples
	ex.Lost = append(ex.Lost, r.Examples.Lost...)
	ex.Duplicated = append(ex.Duplicated, r.Examples.Duplicated...)
	ex.DeadLettered = append(ex.DeadLettered, r.Examples.DeadLettered...)
	ex.Pending = append(ex.Pending, r.Examples.Pending...)
	ex.Unexpected = append(ex.Unexpected, r.Examples.Unexpected...)
	ex.ReorderedKeys = append(ex.ReorderedKeys, r.Examples.ReorderedKeys...)
	for _, n := range r.Notes {
		if !slices.Contains(m.notes, n) {
			m.notes = append(m.notes, n)
		}
	}
	return nil
}

// addTimeline sums t into the merged timeline, re-bucketing to the coarser
// step when the shards differ.
func (m *merger) addTimeline(t Timeline) error {
	if m.timeline == nil {
		c := Timeline{StepS: t.StepS}
		m.timeline = &c
	}
	mt := m.timeline
	step := max(mt.StepS, t.StepS)
	if step%mt.StepS != 0 || step%t.StepS != 0 {
		return fmt.Errorf("timelines with steps of %d s and %d s do not merge", mt.StepS, t.StepS)
	}
	coarsen := func(s []int64, from int64, n int64) []int64 { return rebucket(s, from, step, n) }
	n := max(ceilDiv(int64(len(mt.Accepted))*mt.StepS, step), ceilDiv(int64(len(t.Accepted))*t.StepS, step))
	series := []struct {
		dst *[]int64
		src []int64
	}{
		{&mt.Accepted, t.Accepted}, {&mt.Attempted, t.Attempted}, {&mt.Delivered, t.Delivered}, {&mt.Failed, t.Failed},
	}
	for _, s := range series {
		merged := coarsen(*s.dst, mt.StepS, n)
		for i, v := range coarsen(s.src, t.StepS, n) {
			merged[i] += v
		}
		*s.dst = merged
	}
	mt.StepS = step
	return nil
}

func (m *merger) finish(out *Result, results []*Result) error {
	h, err := mergeHistograms(m.delivery)
	if err != nil {
		return fmt.Errorf("merging delivery histograms: %w", err)
	}
	out.Latency.Delivery = summarize(h, m.minUs, m.maxUs)
	out.Histograms.DeliveryUs = EncodeHistogram(h)

	for _, q := range m.phases {
		ph, err := mergeHistograms(q.hists)
		if err != nil {
			return fmt.Errorf("merging phase %q histograms: %w", q.row.Name, err)
		}
		s := summarize(ph, 0, q.maxUs)
		q.row.P50Ms, q.row.P99Ms, q.row.MaxMs = s.P50, s.P99, s.Max
		q.row.HdrUs = EncodeHistogram(ph)
		out.Phases = append(out.Phases, q.row)
	}

	counts := make([][2]int64, 0, len(m.perEvent))
	for _, k := range slices.Sorted(maps.Keys(m.perEvent)) {
		counts = append(counts, [2]int64{k, m.perEvent[k]})
	}
	out.Attempts.PerEvent = distribution(counts)
	if out.Events.Accepted > 0 {
		out.Attempts.Amplification = round4(float64(out.Attempts.Total) / float64(out.Events.Accepted))
	}

	for reason, n := range m.reasons {
		out.DeadLetterReasons = append(out.DeadLetterReasons, ReasonCount{Reason: reason, Count: n})
	}
	sortReasons(out.DeadLetterReasons)

	if err := m.finishEndpoint(out, results[0]); err != nil {
		return err
	}
	out.Timeline = *m.timeline
	out.Faults = m.faults(results)
	out.Herd = worstHerd(out.Faults)

	cut := func(ids []string) []string {
		var u []string
		for _, id := range ids {
			if len(u) < m.limit && !slices.Contains(u, id) {
				u = append(u, id)
			}
		}
		return u
	}
	ex := m.examples
	out.Examples = Examples{
		Limit: m.limit, Lost: cut(ex.Lost), Duplicated: cut(ex.Duplicated), DeadLettered: cut(ex.DeadLettered),
		Pending: cut(ex.Pending), Unexpected: cut(ex.Unexpected), ReorderedKeys: cut(ex.ReorderedKeys),
	}
	out.Notes = append(m.notes, fmt.Sprintf("merged from %d runs; assertions are evaluated per run and were not carried over", out.Shards))
	return nil
}

// faults re-derives the fault windows on the merged timeline.
func (m *merger) faults(results []*Result) []FaultResult {
	first := results[0].Faults
	t := m.timeline
	if t.StepS == 1 {
		ws := make([]FaultWindow, len(first))
		for i, f := range first {
			ws[i] = FaultWindow{Rule: f.Rule, Fault: f.Fault, Start: secondsToDuration(f.StartS), End: secondsToDuration(f.EndS)}
		}
		return faultResults(ws, m.afterSums(results), t.Attempted, t.Failed, int64(len(t.Attempted)))
	}
	after := m.afterSums(results)
	out := make([]FaultResult, len(first))
	for i, f := range first {
		fr := FaultResult{Rule: f.Rule, Fault: f.Fault, StartS: f.StartS, EndS: f.EndS, AfterAttempts: after[i], PeakIsUpperBound: true}
		for _, r := range results {
			g := r.Faults[i]
			fr.Attempts += g.Attempts
			fr.Failed += g.Failed
			fr.RateBefore += g.RateBefore
			fr.PeakRateAfter += g.PeakRateAfter
			fr.PeakAtS = max(fr.PeakAtS, g.PeakAtS)
		}
		fr.RateBefore = round3(fr.RateBefore)
		if fr.RateBefore > 0 {
			fr.HerdRatio = round3(fr.PeakRateAfter / fr.RateBefore)
		}
		out[i] = fr
	}
	return out
}

// afterSums adds up the runs' attempts per herdStep after each window
// (a shorter series, from a run that ended sooner, had none past its end).
func (m *merger) afterSums(results []*Result) [][]int64 {
	out := make([][]int64, len(results[0].Faults))
	for i := range out {
		for _, r := range results {
			a := r.Faults[i].AfterAttempts
			for len(out[i]) < len(a) {
				out[i] = append(out[i], 0)
			}
			for j, n := range a {
				out[i][j] += n
			}
		}
	}
	return out
}

// add sums another run's counts into e.
func (e *Events) add(o Events) {
	e.Accepted += o.Accepted
	e.Delivered += o.Delivered
	e.Lost += o.Lost
	e.Duplicated += o.Duplicated
	e.DuplicateDeliveries += o.DuplicateDeliveries
	e.DeadLettered += o.DeadLettered
	e.Pending += o.Pending
	e.Unexpected += o.Unexpected
	e.Reordered += o.Reordered
	e.DeadLetteredReceived += o.DeadLetteredReceived
}

func (r *Receipts) add(o Receipts) {
	r.Total += o.Total
	r.Acknowledged += o.Acknowledged
	r.Rejected += o.Rejected
	r.Deduplicated += o.Deduplicated
	r.Unexpected += o.Unexpected
}

func (o *Ordering) add(x Ordering) {
	o.Keys += x.Keys
	o.KeysReordered += x.KeysReordered
	o.EventsOutOfOrder += x.EventsOutOfOrder
}

// addCounts sums another row's event counts into p.
func (p *PhaseResult) addCounts(o PhaseResult) {
	p.Accepted += o.Accepted
	p.Delivered += o.Delivered
	p.Lost += o.Lost
	p.Duplicated += o.Duplicated
	p.DeadLettered += o.DeadLettered
	p.Pending += o.Pending
}

// mergeHistograms decodes and adds up encoded histograms.
func mergeHistograms(enc []string) (*hdrhistogram.Histogram, error) {
	h := NewHistogram()
	for _, s := range enc {
		g, err := DecodeHistogram(s)
		if err != nil {
			return nil, err
		}
		if dropped := h.Merge(g); dropped > 0 {
			return nil, fmt.Errorf("%d values outside the histogram's range", dropped)
		}
	}
	return h, nil
}

func msToUs(ms float64) int64 { return int64(math.Round(ms * 1000)) }

func secondsToDuration(s float64) time.Duration {
	return time.Duration(math.Round(s * float64(time.Second)))
}

// MsDuration is a figure the JSON holds in milliseconds as a duration, to
// the microsecond the histograms record.
func MsDuration(ms float64) time.Duration {
	return time.Duration(msToUs(ms)) * time.Microsecond
}

// addEndpoint sums r's endpoint section into out's.
func (m *merger) addEndpoint(out *Result, r *Result) {
	e := r.Endpoint
	out.Endpoint.Attempts += e.Attempts
	out.Endpoint.Answered += e.Answered
	if e.Response.Count > 0 {
		lo, hi := msToUs(e.Response.Min), msToUs(e.Response.Max)
		if !m.answered || lo < m.respMinUs {
			m.respMinUs = lo
		}
		m.respMaxUs = max(m.respMaxUs, hi)
		m.answered = true
	}
	m.response = append(m.response, r.Histograms.ResponseUs)
	if m.causes == nil {
		m.causes = map[[2]string]int64{}
	}
	for _, c := range e.Failures {
		m.causes[[2]string{c.Cause, c.Class}] += c.Count
	}
	out.Endpoint.Disables = append(out.Endpoint.Disables, e.Disables...)
}

// finishEndpoint works out the merged endpoint section and findings; the
// target is the first result's (the shards ran against one endpoint).
func (m *merger) finishEndpoint(out *Result, first *Result) error {
	h, err := mergeHistograms(m.response)
	if err != nil {
		return fmt.Errorf("merging response histograms: %w", err)
	}
	out.Endpoint.Response = summarize(h, m.respMinUs, m.respMaxUs)
	out.Histograms.ResponseUs = EncodeHistogram(h)
	out.Endpoint.Failures = []CauseCount{}
	for k, n := range m.causes {
		out.Endpoint.Failures = append(out.Endpoint.Failures, CauseCount{Cause: k[0], Class: k[1], Count: n})
	}
	sortCauses(out.Endpoint.Failures)
	sortDisables(out.Endpoint.Disables)
	out.Target = first.Target
	out.Findings = Diagnose(out)
	return nil
}
