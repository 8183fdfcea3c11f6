package loadgen

import (
	"fmt"
	"iter"
	"strings"
	"time"
)

// Phase is one stretch of a load profile: a pacer for a duration. The
// pacer's clock starts at the beginning of its phase.
type Phase struct {
	Pacer    Pacer
	Duration time.Duration
}

// SequencePacer runs phases one after the other, so that a scenario's load
// phases (warm-up, ramp, steady, spike, ...) are one pacer. It stops after
// the last phase. Its per-phase hit counts are computed once, when first
// needed; not safe for concurrent use.
type SequencePacer struct {
	phases []Phase
	scheds []schedule
	starts []time.Duration
	counts []uint64 // hits in each phase; valid for i < known
	known  int
	total  time.Duration
}

// Sequence returns a pacer that runs the phases in order.
func Sequence(phases ...Phase) *SequencePacer {
	s := &SequencePacer{phases: phases}
	var at time.Duration
	for _, ph := range phases {
		s.scheds = append(s.scheds, asSchedule(ph.Pacer))
		s.starts = append(s.starts, at)
		at += ph.Duration
	}
	s.counts = make([]uint64, len(phases))
	s.total = at
	return s
}

// Steps returns a staircase: each rate in turn for each, then stop.
func Steps(each time.Duration, rates ...float64) *SequencePacer {
	phases := make([]Phase, len(rates))
	for i, r := range rates {
		phases[i] = Phase{Pacer: Constant(r), Duration: each}
	}
	return Sequence(phases...)
}

// Length is how long the sequence lasts.
func (s *SequencePacer) Length() time.Duration { return s.total }

// Phases returns the phases.
func (s *SequencePacer) Phases() []Phase { return append([]Phase(nil), s.phases...) }

// phaseCount returns the number of hits in phase i.
func (s *SequencePacer) phaseCount(i int) uint64 {
	for s.known <= i {
		k := s.known
		s.counts[k] = s.scheds[k].count(s.phases[k].Duration)
		s.known++
	}
	return s.counts[i]
}

func (s *SequencePacer) due(n uint64) (time.Duration, bool) {
	base := uint64(0)
	for i := range s.phases {
		c := s.phaseCount(i)
		if n < base+c {
			t, ok := s.scheds[i].due(n - base)
			return s.starts[i] + t, ok
		}
		base += c
	}
	return 0, false
}

func (s *SequencePacer) count(d time.Duration) uint64 {
	var n uint64
	for i, ph := range s.phases {
		if d <= s.starts[i] {
			break
		}
		if d >= s.starts[i]+ph.Duration {
			n += s.phaseCount(i)
			continue
		}
		n += s.scheds[i].count(d - s.starts[i])
	}
	return n
}

// Pace implements Pacer.
func (s *SequencePacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	return paceBy(s, elapsed, hits)
}

// Rate implements Pacer: the rate of the phase running at elapsed, 0 after
// the last.
func (s *SequencePacer) Rate(elapsed time.Duration) float64 {
	for i, ph := range s.phases {
		if elapsed < s.starts[i]+ph.Duration {
			return ph.Pacer.Rate(elapsed - s.starts[i])
		}
	}
	return 0
}

// String writes the pacer in ParsePacer's syntax.
func (s *SequencePacer) String() string {
	parts := make([]string, len(s.phases))
	for i, ph := range s.phases {
		parts[i] = fmt.Sprintf("%v for %s", ph.Pacer, ph.Duration)
	}
	return strings.Join(parts, "; ")
}

// ShardPacer is one of Count interleaved slices of a pacer: shard i sends
// hits i, i+Count, i+2·Count, ... of the whole schedule. N machines, each
// running its own shard, together send exactly what one machine would have.
type ShardPacer struct {
	inner     schedule
	pacer     Pacer
	index, of uint64
}

// Shard returns shard index (from 0) of count.
func Shard(p Pacer, index, count int) *ShardPacer {
	return &ShardPacer{inner: asSchedule(p), pacer: p, index: uint64(index), of: uint64(count)}
}

func (s *ShardPacer) due(n uint64) (time.Duration, bool) {
	return s.inner.due(n*s.of + s.index)
}

func (s *ShardPacer) count(d time.Duration) uint64 {
	// Of the first c hits of the whole schedule, this shard has those
	// numbered index, index+count, ... below c.
	c := s.inner.count(d)
	if c <= s.index {
		return 0
	}
	return (c - s.index + s.of - 1) / s.of
}

// Pace implements Pacer.
func (s *ShardPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	return paceBy(s, elapsed, hits)
}

// Rate implements Pacer: this shard's share.
func (s *ShardPacer) Rate(elapsed time.Duration) float64 {
	return s.pacer.Rate(elapsed) / float64(s.of)
}

// Global maps this shard's hit n to its number in the whole schedule.
func (s *ShardPacer) Global(n uint64) uint64 { return n*s.of + s.index }

// String writes the whole pacer in ParsePacer's syntax and the shard.
func (s *ShardPacer) String() string {
	return fmt.Sprintf("%v (shard %d/%d)", s.pacer, s.index, s.of)
}

// Length returns how long a pacer runs when it has an end of its own (a
// Sequence or a shard of one).
func Length(p Pacer) (time.Duration, bool) {
	switch p := p.(type) {
	case *SequencePacer:
		return p.Length(), true
	case *ShardPacer:
		return Length(p.pacer)
	}
	return 0, false
}

// Arrivals yields the intended send time of every hit, in order, that is
// due before until (until <= 0: until the pacer stops). It reads no clock:
// it is what a virtual-time simulator replays.
func Arrivals(p Pacer, until time.Duration) iter.Seq2[uint64, time.Duration] {
	s := asSchedule(p)
	return func(yield func(uint64, time.Duration) bool) {
		for n := uint64(0); ; n++ {
			t, ok := s.due(n)
			if !ok || (until > 0 && t >= until) {
				return
			}
			if !yield(n, t) {
				return
			}
		}
	}
}

// Hits returns how many hits p has due strictly before d.
func Hits(p Pacer, d time.Duration) uint64 { return asSchedule(p).count(d) }

// asSchedule returns p's schedule, iterating its Pace if p is not one of
// this package's pacers.
func asSchedule(p Pacer) schedule {
	if s, ok := p.(schedule); ok {
		return s
	}
	return &paceSchedule{p: p}
}

// paceSchedule derives due times from any Pacer: hit n is due at
// due(n-1) + Pace(due(n-1), n), the time the pacer asks for when called at
// the moment the previous hit was due. It keeps a cursor like PoissonPacer:
// hit n exists and is due at t unless ended.
type paceSchedule struct {
	p     Pacer
	n     uint64
	t     time.Duration
	start bool
	ended bool
}

func (s *paceSchedule) due(n uint64) (time.Duration, bool) {
	if !s.start || n < s.n {
		w, stop := s.p.Pace(0, 0)
		s.n, s.t, s.ended, s.start = 0, w, stop, true
	}
	for s.n < n && !s.ended {
		w, stop := s.p.Pace(s.t, s.n+1)
		s.n++
		if stop {
			s.ended = true
		} else {
			s.t += w
		}
	}
	if s.ended {
		return 0, false
	}
	return s.t, true
}

func (s *paceSchedule) count(d time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
	from := uint64(0)
	if s.start && !s.ended && s.t < d {
		from = s.n
	}
	return countForward(s, from, d)
}
