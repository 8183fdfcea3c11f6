package loadgen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// A Pacer decides when requests are sent. It is a pure function of the time
// elapsed since the start and the number of hits (requests) already sent:
// Pace returns how long to wait before the next hit, 0 when it is due or
// overdue, and stop=true when the pacer sends no more. Rate is the asked
// rate, in hits per second, at a moment.
//
// Because a pacer reads no clock, a simulator can compute every intended
// send time by iterating it in virtual time (see Arrivals), and the tests of
// each load model are tables of hits by elapsed time.
type Pacer interface {
	Pace(elapsed time.Duration, hits uint64) (wait time.Duration, stop bool)
	Rate(elapsed time.Duration) float64
}

// schedule is what every pacer in this package knows beyond Pace: when hit
// n (counting from 0) is due, and how many hits are due strictly before d.
// The runner and Arrivals use it so that a late hit keeps its intended time
// (Pace only says "now" once a hit is overdue). Pacers from elsewhere get
// one by iterating their Pace (see asSchedule).
type schedule interface {
	due(n uint64) (time.Duration, bool)
	count(d time.Duration) uint64
}

// paceBy answers Pace from a schedule.
func paceBy(s schedule, elapsed time.Duration, hits uint64) (time.Duration, bool) {
	t, ok := s.due(hits)
	if !ok {
		return 0, true
	}
	if t <= elapsed {
		return 0, false
	}
	return t - elapsed, false
}

// countByDue finds how many hits are due strictly before d — the smallest n
// with due(n) >= d — by walking from an estimate. due must be
// non-decreasing; the estimate only makes it fast.
func countByDue(s schedule, d time.Duration, estimate float64) uint64 {
	if d <= 0 {
		return 0
	}
	n := uint64(0)
	if estimate > 0 && estimate < 1<<62 {
		n = uint64(estimate)
	}
	// Step down while the hit before n is still at or after d.
	for n > 0 {
		t, ok := s.due(n - 1)
		if ok && t < d {
			break
		}
		n--
	}
	// Step up while hit n is before d, doubling the stride to stay
	// logarithmic when the estimate is far off.
	lo, step := n, uint64(1)
	for {
		t, ok := s.due(lo)
		if !ok || t >= d {
			break
		}
		n = lo + 1
		lo += step
		step *= 2
	}
	// The answer lies in (n-1, lo]; binary search it.
	hi := lo
	for n < hi {
		mid := n + (hi-n)/2
		if t, ok := s.due(mid); ok && t < d {
			n = mid + 1
		} else {
			hi = mid
		}
	}
	return n
}

// seconds converts a time in seconds to a Duration, rounding to the
// nanosecond and saturating instead of overflowing.
func seconds(s float64) (time.Duration, bool) {
	ns := math.Round(s * 1e9)
	if ns >= math.MaxInt64 || math.IsNaN(ns) {
		return 0, false
	}
	return time.Duration(ns), true
}

// ConstantPacer sends Rate hits per second, evenly spaced, the first at 0.
// A rate of 0 sends nothing (an idle phase in a Sequence).
type ConstantPacer struct {
	PerSecond float64
}

// Constant returns a pacer sending rate hits per second.
func Constant(rate float64) ConstantPacer { return ConstantPacer{PerSecond: rate} }

func (p ConstantPacer) due(n uint64) (time.Duration, bool) {
	if p.PerSecond <= 0 {
		return 0, false
	}
	return seconds(float64(n) / p.PerSecond)
}

func (p ConstantPacer) count(d time.Duration) uint64 {
	return countByDue(p, d, d.Seconds()*p.PerSecond)
}

// Pace implements Pacer.
func (p ConstantPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	return paceBy(p, elapsed, hits)
}

// Rate implements Pacer.
func (p ConstantPacer) Rate(time.Duration) float64 { return math.Max(p.PerSecond, 0) }

// String writes the pacer in ParsePacer's syntax.
func (p ConstantPacer) String() string {
	if p.PerSecond <= 0 {
		return "idle"
	}
	return "constant:" + formatRate(p.PerSecond)
}

// LinearPacer ramps the rate linearly from From to To hits per second over
// Over, then holds To. Hit n is due when the area under the rate reaches n.
type LinearPacer struct {
	From, To float64
	Over     time.Duration
}

// Linear returns a pacer ramping from one rate to another over d.
func Linear(from, to float64, over time.Duration) LinearPacer {
	return LinearPacer{From: from, To: to, Over: over}
}

// area is the number of hits due by t seconds into the ramp.
func (p LinearPacer) area(t float64) float64 {
	D := p.Over.Seconds()
	if t >= D {
		return (p.From+p.To)/2*D + p.To*(t-D)
	}
	return p.From*t + (p.To-p.From)*t*t/(2*D)
}

func (p LinearPacer) due(n uint64) (time.Duration, bool) {
	if n == 0 {
		return 0, p.From > 0 || p.To > 0
	}
	D := p.Over.Seconds()
	x := float64(n)
	end := (p.From + p.To) / 2 * D
	if x > end {
		if p.To <= 0 {
			return 0, false
		}
		return seconds(D + (x-end)/p.To)
	}
	// Solve From*t + k*t^2 = n with k = (To-From)/(2D), in the form that
	// stays exact when k or From is 0.
	k := (p.To - p.From) / (2 * D)
	disc := p.From*p.From + 4*k*x
	if disc < 0 {
		disc = 0
	}
	den := p.From + math.Sqrt(disc)
	if den <= 0 {
		return 0, false
	}
	return seconds(2 * x / den)
}

func (p LinearPacer) count(d time.Duration) uint64 {
	return countByDue(p, d, p.area(d.Seconds()))
}

// Pace implements Pacer.
func (p LinearPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	return paceBy(p, elapsed, hits)
}

// Rate implements Pacer.
func (p LinearPacer) Rate(elapsed time.Duration) float64 {
	if elapsed >= p.Over {
		return p.To
	}
	return p.From + (p.To-p.From)*elapsed.Seconds()/p.Over.Seconds()
}

// String writes the pacer in ParsePacer's syntax.
func (p LinearPacer) String() string {
	return fmt.Sprintf("linear:%s..%s@%s", formatRate(p.From), formatRate(p.To), p.Over)
}

// SinePacer varies the rate as Mean + Amp·sin(2π·t/Period + Phase), Phase in
// radians. Amp must not exceed Mean (the rate never goes negative).
type SinePacer struct {
	Mean, Amp float64
	Period    time.Duration
	Phase     float64
}

func (p SinePacer) area(t float64) float64 {
	w := 2 * math.Pi / p.Period.Seconds()
	return p.Mean*t + p.Amp/w*(math.Cos(p.Phase)-math.Cos(w*t+p.Phase))
}

func (p SinePacer) rateAt(t float64) float64 {
	w := 2 * math.Pi / p.Period.Seconds()
	return p.Mean + p.Amp*math.Sin(w*t+p.Phase)
}

func (p SinePacer) due(n uint64) (time.Duration, bool) {
	if p.Mean <= 0 {
		return 0, false
	}
	x := float64(n)
	// area(t) - Mean*t stays within ±Amp·Period/π, which brackets the
	// root; Newton's method inside the bracket, falling back to
	// bisection, converges in a few steps.
	slack := p.Amp * p.Period.Seconds() / math.Pi
	lo := math.Max(0, (x-slack)/p.Mean)
	hi := (x + slack) / p.Mean
	t := x / p.Mean
	for i := 0; i < 100; i++ {
		f := p.area(t) - x
		if math.Abs(f) < 1e-9 || hi-lo < 1e-10 {
			break
		}
		if f > 0 {
			hi = t
		} else {
			lo = t
		}
		r := p.rateAt(t)
		next := t - f/r
		if r <= 0 || next <= lo || next >= hi || math.IsNaN(next) {
			next = (lo + hi) / 2
		}
		t = next
	}
	return seconds(t)
}

func (p SinePacer) count(d time.Duration) uint64 {
	return countByDue(p, d, p.area(d.Seconds()))
}

// Pace implements Pacer.
func (p SinePacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	return paceBy(p, elapsed, hits)
}

// Rate implements Pacer.
func (p SinePacer) Rate(elapsed time.Duration) float64 { return p.rateAt(elapsed.Seconds()) }

// String writes the pacer in ParsePacer's syntax.
func (p SinePacer) String() string {
	s := fmt.Sprintf("sine:mean=%s,amp=%s,period=%s", formatRate(p.Mean), formatRate(p.Amp), p.Period)
	if p.Phase != 0 {
		s += fmt.Sprintf(",phase=%g", p.Phase*180/math.Pi)
	}
	return s
}

// BurstPacer sends Size hits at once every Every, the first burst at 0.
type BurstPacer struct {
	Size  uint64
	Every time.Duration
}

func (p BurstPacer) due(n uint64) (time.Duration, bool) {
	if p.Size == 0 || p.Every <= 0 {
		return 0, false
	}
	k := n / p.Size
	if k > uint64(math.MaxInt64/int64(p.Every)) {
		return 0, false
	}
	return time.Duration(k) * p.Every, true
}

func (p BurstPacer) count(d time.Duration) uint64 {
	return countByDue(p, d, float64(p.Size)*d.Seconds()/p.Every.Seconds())
}

// Pace implements Pacer.
func (p BurstPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	return paceBy(p, elapsed, hits)
}

// Rate implements Pacer: the mean rate.
func (p BurstPacer) Rate(time.Duration) float64 {
	if p.Every <= 0 {
		return 0
	}
	return float64(p.Size) / p.Every.Seconds()
}

// String writes the pacer in ParsePacer's syntax.
func (p BurstPacer) String() string { return fmt.Sprintf("burst:%d@%s", p.Size, p.Every) }

// PoissonPacer sends hits with exponentially distributed gaps at a mean
// rate: a Poisson arrival process, the way independent webhook sources
// arrive. Its gaps come from a random stream seeded at construction, so it
// is deterministic: asking for the same hit gives the same time. It keeps a
// cursor so that asking in increasing order (as the runner and Arrivals do)
// costs O(1) per hit; asking for an earlier hit replays the stream from the
// start. Not safe for concurrent use.
type PoissonPacer struct {
	rate   float64
	s1, s2 uint64
	src    *rand.PCG
	rnd    *rand.Rand
	n      uint64  // the cursor: hit n is due at t seconds
	t      float64 // (valid when started)
	start  bool
}

// Poisson returns a Poisson pacer at a mean rate, seeded from rnd (which is
// read twice, at construction only).
func Poisson(rate float64, rnd *rand.Rand) *PoissonPacer {
	p := &PoissonPacer{rate: rate, s1: rnd.Uint64(), s2: rnd.Uint64()}
	p.src = rand.NewPCG(p.s1, p.s2)
	p.rnd = rand.New(p.src)
	return p
}

func (p *PoissonPacer) due(n uint64) (time.Duration, bool) {
	if p.rate <= 0 {
		return 0, false
	}
	if !p.start || n < p.n {
		p.src.Seed(p.s1, p.s2)
		p.n, p.t, p.start = 0, p.rnd.ExpFloat64()/p.rate, true
	}
	for p.n < n {
		p.t += p.rnd.ExpFloat64() / p.rate
		p.n++
	}
	return seconds(p.t)
}

func (p *PoissonPacer) count(d time.Duration) uint64 {
	if p.rate <= 0 || d <= 0 {
		return 0
	}
	from := uint64(0)
	if p.start {
		if t, _ := seconds(p.t); t < d {
			from = p.n
		}
	}
	return countForward(p, from, d)
}

// countForward counts the hits due before d by walking from hit from, which
// is known to be due before d: the way for schedules that keep a cursor and
// cannot jump.
func countForward(s schedule, from uint64, d time.Duration) uint64 {
	for n := from; ; n++ {
		if t, ok := s.due(n); !ok || t >= d {
			return n
		}
	}
}

// Pace implements Pacer.
func (p *PoissonPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	return paceBy(p, elapsed, hits)
}

// Rate implements Pacer: the mean rate.
func (p *PoissonPacer) Rate(time.Duration) float64 { return p.rate }

// String writes the pacer in ParsePacer's syntax.
func (p *PoissonPacer) String() string { return "poisson:" + formatRate(p.rate) }
