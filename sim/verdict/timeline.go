package verdict

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

// The retry storm after a fault window is measured over 1 s windows that
// start at its close, wherever in a second that falls: attempts are
// counted per herdTick, the first herdHorizon after the close is kept per
// herdStep in the Result (FaultResult.AfterAttempts, so that merged
// results find the same peak), and 1 s windows starting every herdStep in
// it are the candidates, with every whole second of the timeline after
// the close for a storm that comes later.
const (
	herdTick       = 10 * time.Millisecond
	herdStep       = 100 * time.Millisecond
	herdHorizon    = 10 * time.Second
	ticksPerSecond = int64(time.Second / herdTick)
	ticksPerStep   = int64(herdStep / herdTick)
	stepsPerSecond = int64(time.Second / herdStep)
)

// afterStart is where the storm after a window ending at endS (as the
// Result writes it) is measured from: its close, rounded up to a
// herdTick (so no attempt made while it was open counts).
func afterStart(endS float64) time.Duration {
	end := secondsToDuration(endS)
	return (end + herdTick - 1) / herdTick * herdTick
}

// windowEnd is w's close; a window without an end lasts the run (span
// seconds).
func windowEnd(w FaultWindow, span int64) time.Duration {
	if w.End <= w.Start {
		return time.Duration(span) * time.Second
	}
	return w.End
}

// afterLimit is where the measurement after w stops: the next window's
// opening or the end of the run (span seconds).
func afterLimit(w FaultWindow, ws []FaultWindow, span int64) time.Duration {
	end, limit := windowEnd(w, span), time.Duration(span)*time.Second
	for _, o := range ws {
		if o.Start >= end {
			limit = min(limit, o.Start)
		}
	}
	return limit
}

// afterSteps is how many herdSteps after a window are kept: up to
// herdHorizon or its limit, and at least one second (as the storm is
// always looked for in at least one second, even if the next window
// opens sooner).
func afterSteps(from, limit time.Duration) int64 {
	return min(max(int64((limit-from)/herdStep), stepsPerSecond), int64(herdHorizon/herdStep))
}

// asRecorded rounds windows to the milliseconds a Result records them in,
// so that the checker and Merge measure the very same windows.
func asRecorded(ws []FaultWindow) []FaultWindow {
	out := make([]FaultWindow, len(ws))
	for i, w := range ws {
		out[i] = FaultWindow{Rule: w.Rule, Fault: w.Fault, Start: secondsToDuration(seconds(w.Start)), End: secondsToDuration(seconds(w.End))}
	}
	return out
}

// tickCounts counts per herdTick, in chunks of tickChunk ticks allocated as
// the run reaches them: a simulated day is 8.6 million ticks, and a slice
// grown by append allocated five times its final 35 MB on the way, a third
// of everything fleet-day allocated.
type tickCounts struct{ chunks [][]uint32 }

const tickChunk = 1 << 16

// at returns tick k's counter (k >= 0). Only chunks counted in are
// allocated: one record days into a quiet stretch costs one chunk.
func (t *tickCounts) at(k int64) *uint32 {
	c := int(k / tickChunk)
	for len(t.chunks) <= c {
		t.chunks = append(t.chunks, nil)
	}
	if t.chunks[c] == nil {
		t.chunks[c] = make([]uint32, tickChunk)
	}
	return &t.chunks[c][k%tickChunk]
}

// get returns tick k's count, 0 for a tick never counted.
func (t *tickCounts) get(k int64) uint32 {
	if c := int(k / tickChunk); k >= 0 && c < len(t.chunks) && t.chunks[c] != nil {
		return t.chunks[c][k%tickChunk]
	}
	return 0
}

// afterSeries counts, for each window, the attempts per herdStep from its
// afterStart, out of attempts counted per herdTick.
func afterSeries(ws []FaultWindow, ticks *tickCounts, span int64) [][]int64 {
	out := make([][]int64, len(ws))
	for i, w := range ws {
		from := afterStart(seconds(windowEnd(w, span)))
		n := afterSteps(from, afterLimit(w, ws, span))
		series := make([]int64, n)
		k0 := int64(from / herdTick)
		for j := range series {
			for k := k0 + int64(j)*ticksPerStep; k < k0+int64(j+1)*ticksPerStep; k++ {
				series[j] += int64(ticks.get(k))
			}
		}
		out[i] = series
	}
	return out
}

// faultResults measures each fault window against per-second attempt
// counts over span seconds and the attempts per herdStep after each
// window (after[i] for ws[i]): attempts while it was open, the rate before
// it opened, and the busiest 1 s after it closed (the thundering herd of
// retries released when the fault goes away).
func faultResults(ws []FaultWindow, after [][]int64, attempted, failed []int64, span int64) []FaultResult {
	sum := func(s []int64, from, to int64) int64 {
		var n int64
		for i := max(from, 0); i < min(to, int64(len(s))); i++ {
			n += s[i]
		}
		return n
	}
	out := make([]FaultResult, 0, len(ws))
	for i, w := range ws {
		start, end := w.Start, windowEnd(w, span)
		from, to := int64(start/time.Second), ceilDiv(int64(end), int64(time.Second))
		fr := FaultResult{
			Rule:          w.Rule,
			Fault:         w.Fault,
			StartS:        seconds(start),
			EndS:          seconds(end),
			Attempts:      sum(attempted, from, to),
			Failed:        sum(failed, from, to),
			AfterAttempts: after[i],
		}
		// The minute before it opened, or as much of it as there was.
		if l := min(60, max(to-from, 1), from); l > 0 {
			fr.RateBefore = round3(float64(sum(attempted, from-l, from)) / float64(l))
		}
		// After it closed, until another window opens or the run ends:
		// 1 s windows every herdStep from its close, then whole seconds.
		hStart := afterStart(fr.EndS)
		var peak int64
		peakAt := hStart
		consider := func(n int64, at time.Duration) {
			if n > peak || n == peak && at < peakAt {
				peak, peakAt = n, at
			}
		}
		steps := fr.AfterAttempts
		var run int64
		for j, n := range steps {
			run += n
			if j >= int(stepsPerSecond) {
				run -= steps[j-int(stepsPerSecond)]
			}
			if j+1 >= int(stepsPerSecond) {
				consider(run, hStart+time.Duration(j+1-int(stepsPerSecond))*herdStep)
			}
		}
		hFrom := ceilDiv(int64(hStart), int64(time.Second))
		hTo := max(int64(afterLimit(w, ws, span)/time.Second), hFrom+1)
		for s := hFrom; s < min(hTo, int64(len(attempted))); s++ {
			consider(attempted[s], time.Duration(s)*time.Second)
		}
		fr.PeakRateAfter = float64(peak)
		fr.PeakAtS = seconds(peakAt)
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
