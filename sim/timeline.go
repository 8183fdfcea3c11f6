package sim

import "time"

// timelineSteps are the bucket widths a timeline may use, in seconds: the
// first that keeps it within MaxTimelineBuckets wins.
var timelineSteps = [...]int64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400}

// timelineStep is the bucket width for a run of span seconds.
func timelineStep(span int64) int64 {
	for _, s := range timelineSteps {
		if ceilDiv(span, s) <= MaxTimelineBuckets {
			return s
		}
	}
	return timelineSteps[len(timelineSteps)-1]
}

// buildTimeline buckets per-second series over span seconds.
func buildTimeline(span int64, accepted, attempted, delivered, failed []int64) Timeline {
	step := timelineStep(span)
	n := ceilDiv(span, step)
	return Timeline{
		StepS:     step,
		Accepted:  rebucket(accepted, 1, step, n),
		Attempted: rebucket(attempted, 1, step, n),
		Delivered: rebucket(delivered, 1, step, n),
		Failed:    rebucket(failed, 1, step, n),
	}
}

// rebucket sums a series of from-second buckets into n buckets of to
// seconds (to a multiple of from); values past the end count in the last.
func rebucket(series []int64, from, to, n int64) []int64 {
	out := make([]int64, n)
	if n == 0 {
		return out
	}
	k := to / from
	for i, v := range series {
		out[min(int64(i)/k, n-1)] += v
	}
	return out
}

// faultResults measures each fault window against per-second attempt
// counts over span seconds: attempts while it was open, the rate before
// it opened, and the peak second after it closed (the thundering herd of
// retries released when the fault goes away).
func faultResults(ws []FaultWindow, attempted, failed []int64, span int64) []FaultResult {
	sum := func(s []int64, from, to int64) int64 {
		var n int64
		for i := max(from, 0); i < min(to, int64(len(s))); i++ {
			n += s[i]
		}
		return n
	}
	out := make([]FaultResult, 0, len(ws))
	for _, w := range ws {
		start, end := w.Start, w.End
		if end <= start {
			end = time.Duration(span) * time.Second
		}
		from, to := int64(start/time.Second), ceilDiv(int64(end), int64(time.Second))
		fr := FaultResult{
			Rule:     w.Rule,
			Fault:    w.Fault,
			StartS:   seconds(start),
			EndS:     seconds(end),
			Attempts: sum(attempted, from, to),
			Failed:   sum(failed, from, to),
		}
		// The minute before it opened, or as much of it as there was.
		if l := min(60, max(to-from, 1), from); l > 0 {
			fr.RateBefore = round3(float64(sum(attempted, from-l, from)) / float64(l))
		}
		// After it closed, until another window opens or the run ends.
		hFrom, hTo := to, span
		for _, o := range ws {
			if o.Start >= end {
				hTo = min(hTo, int64(o.Start/time.Second))
			}
		}
		hTo = max(hTo, hFrom+1)
		var peak int64
		peakAt := hFrom
		for s := hFrom; s < min(hTo, int64(len(attempted))); s++ {
			if attempted[s] > peak {
				peak, peakAt = attempted[s], s
			}
		}
		fr.PeakRateAfter = float64(peak)
		fr.PeakAtS = float64(peakAt)
		if fr.RateBefore > 0 {
			fr.HerdRatio = round3(fr.PeakRateAfter / fr.RateBefore)
		}
		out = append(out, fr)
	}
	return out
}

// worstHerd is the fault window with the highest peak after it closed.
func worstHerd(fs []FaultResult) Herd {
	var h Herd
	for i, f := range fs {
		if i == 0 || f.PeakRateAfter > h.PeakRate {
			h = Herd{PeakRate: f.PeakRateAfter, Ratio: f.HerdRatio, Rule: f.Rule}
		}
	}
	return h
}

func ceilDiv(a, b int64) int64 {
	if a <= 0 {
		return 0
	}
	return (a + b - 1) / b
}
