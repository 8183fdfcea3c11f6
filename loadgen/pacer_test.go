package loadgen

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

const ms = time.Millisecond

// hitsAt lists, for each elapsed time, how many hits a pacer has due
// strictly before it. Every model is checked this way, in tables, without a
// clock.
type hitsAt struct {
	at   time.Duration
	hits uint64
}

func TestPacerHitsByElapsedTime(t *testing.T) {
	tests := []struct {
		name  string
		pacer Pacer
		want  []hitsAt
	}{
		{"constant 2000/s, first hit at 0", Constant(2000), []hitsAt{
			{0, 0}, {1, 1}, {500 * time.Microsecond, 1}, {500*time.Microsecond + 1, 2},
			{ms, 2}, {time.Second, 2000}, {10 * time.Second, 20000},
		}},
		// 3/s does not divide a second into whole nanoseconds.
		{"constant 3/s", Constant(3), []hitsAt{
			{0, 0}, {1, 1}, {333 * ms, 1}, {334 * ms, 2}, {time.Second, 3}, {time.Second + 1, 4},
		}},
		// Sub-millisecond spacing is kept: no rounding up to whole ms.
		{"constant 10000/s", Constant(10000), []hitsAt{
			{100 * time.Microsecond, 1}, {150 * time.Microsecond, 2}, {ms, 10},
		}},
		{"idle", Constant(0), []hitsAt{{0, 0}, {time.Hour, 0}}},
		// Area under 100→300 over 10s: 100t + 10t². After the ramp it
		// holds 300/s.
		{"linear 100..300 over 10s", Linear(100, 300, 10*time.Second), []hitsAt{
			{0, 0}, {1, 1}, {time.Second, 110}, {5 * time.Second, 750},
			{10 * time.Second, 2000}, {11 * time.Second, 2300},
		}},
		{"linear down 300..100 over 10s", Linear(300, 100, 10*time.Second), []hitsAt{
			{time.Second, 290}, {5 * time.Second, 1250}, {10 * time.Second, 2000}, {12 * time.Second, 2200},
		}},
		// From 0: the first hit at 0, the next when the area reaches 1
		// (t = sqrt(2·10/1000) s).
		{"linear 0..1000 over 10s", Linear(0, 1000, 10*time.Second), []hitsAt{
			{1, 1}, {141 * ms, 1}, {142 * ms, 2}, {time.Second, 50}, {10 * time.Second, 5000},
		}},
		{"steps 100,500,1000 each 1s", Steps(time.Second, 100, 500, 1000), []hitsAt{
			{time.Second, 100}, {1500 * ms, 350}, {2 * time.Second, 600},
			{3 * time.Second, 1600}, {time.Hour, 1600},
		}},
		// Mean 1000, amplitude 500, period 4s: the area is
		// 1000t + (500·4/2π)(1 - cos(2πt/4)).
		{"sine mean 1000 amp 500 period 4s", SinePacer{Mean: 1000, Amp: 500, Period: 4 * time.Second}, []hitsAt{
			{time.Second, 1319}, {2 * time.Second, 2637}, {3 * time.Second, 3319},
			{4 * time.Second, 4000}, {40 * time.Second, 40000},
		}},
		{"burst 100 every 1s", BurstPacer{Size: 100, Every: time.Second}, []hitsAt{
			{0, 0}, {1, 100}, {time.Second, 100}, {time.Second + 1, 200}, {10 * time.Second, 1000},
		}},
		{"sequence constant then ramp then idle", Sequence(
			Phase{Constant(100), time.Second},
			Phase{Linear(100, 300, 2*time.Second), 2 * time.Second},
			Phase{Constant(0), time.Second},
			Phase{Constant(1000), time.Second},
		), []hitsAt{
			{time.Second, 100}, {2 * time.Second, 100 + 150}, {3 * time.Second, 100 + 400},
			{4 * time.Second, 500}, {4*time.Second + 1, 501}, {5 * time.Second, 1500}, {time.Hour, 1500},
		}},
		{"shard 2 of 3 of constant 300/s", Shard(Constant(300), 1, 3), []hitsAt{
			{0, 0}, {1, 0}, {time.Second, 100}, {time.Second + 4*ms, 101},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, w := range tt.want {
				if got := Hits(tt.pacer, w.at); got != w.hits {
					t.Errorf("hits before %v = %d, want %d", w.at, got, w.hits)
				}
			}
		})
	}
}

// Pace's answer: how long until the next hit, 0 when behind, stop when done.
func TestPacerPace(t *testing.T) {
	tests := []struct {
		name     string
		pacer    Pacer
		elapsed  time.Duration
		hits     uint64
		wantWait time.Duration
		wantStop bool
	}{
		{"constant: first hit now", Constant(2000), 0, 0, 0, false},
		{"constant: second hit in 500µs", Constant(2000), 0, 1, 500 * time.Microsecond, false},
		{"constant: on time, wait to next", Constant(2000), 800 * time.Microsecond, 2, 200 * time.Microsecond, false},
		{"constant: behind, send now", Constant(2000), 10 * ms, 2, 0, false},
		{"idle: stop", Constant(0), 0, 0, 0, true},
		{"burst: rest of the burst now", BurstPacer{Size: 10, Every: time.Second}, 0, 9, 0, false},
		{"burst: next burst", BurstPacer{Size: 10, Every: time.Second}, 1, 10, time.Second - 1, false},
		{"sequence: stops after the last phase", Steps(time.Second, 10), 0, 10, 0, true},
		{"linear: ramp down to 0 stops", Linear(10, 0, time.Second), 0, 6, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, stop := tt.pacer.Pace(tt.elapsed, tt.hits)
			if w != tt.wantWait || stop != tt.wantStop {
				t.Errorf("Pace(%v, %d) = %v, %v; want %v, %v", tt.elapsed, tt.hits, w, stop, tt.wantWait, tt.wantStop)
			}
		})
	}
}

func TestPacerRate(t *testing.T) {
	seq := Sequence(Phase{Constant(100), time.Second}, Phase{Linear(100, 300, 2*time.Second), 2 * time.Second})
	tests := []struct {
		pacer   Pacer
		elapsed time.Duration
		want    float64
	}{
		{Constant(2000), time.Hour, 2000},
		{Linear(100, 300, 10*time.Second), 5 * time.Second, 200},
		{Linear(100, 300, 10*time.Second), time.Minute, 300},
		{SinePacer{Mean: 1000, Amp: 500, Period: 4 * time.Second}, time.Second, 1500},
		{SinePacer{Mean: 1000, Amp: 500, Period: 4 * time.Second}, 3 * time.Second, 500},
		{BurstPacer{Size: 100, Every: 500 * ms}, 0, 200},
		{seq, 500 * ms, 100},
		{seq, 2 * time.Second, 200},
		{seq, 4 * time.Second, 0},
		{Shard(Constant(300), 0, 3), 0, 100},
	}
	for _, tt := range tests {
		if got := tt.pacer.Rate(tt.elapsed); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("%v.Rate(%v) = %v, want %v", tt.pacer, tt.elapsed, got, tt.want)
		}
	}
}

// What a virtual-time simulator does: iterate Pace from the moment each hit
// was due. It must land on exactly the times Arrivals yields, for every
// model, including a pacer from outside the package.
func TestIteratingPaceGivesArrivals(t *testing.T) {
	pacers := map[string]func() Pacer{
		"constant": func() Pacer { return Constant(3) },
		"linear":   func() Pacer { return Linear(0, 1000, time.Second) },
		"sine":     func() Pacer { return SinePacer{Mean: 500, Amp: 500, Period: 700 * ms} },
		"burst":    func() Pacer { return BurstPacer{Size: 7, Every: 100 * ms} },
		"poisson":  func() Pacer { return Poisson(800, rand.New(rand.NewPCG(1, 2))) },
		"sequence": func() Pacer {
			return Sequence(Phase{Constant(100), 500 * ms}, Phase{Poisson(300, rand.New(rand.NewPCG(3, 4))), 500 * ms}, Phase{BurstPacer{Size: 5, Every: 100 * ms}, 300 * ms})
		},
		"shard":   func() Pacer { return Shard(Linear(100, 900, time.Second), 2, 3) },
		"foreign": func() Pacer { return everyTenth{} },
	}
	for name, mk := range pacers {
		t.Run(name, func(t *testing.T) {
			var want []time.Duration
			for _, at := range Arrivals(mk(), 2*time.Second) {
				want = append(want, at)
			}
			if len(want) == 0 {
				t.Fatal("no arrivals")
			}
			p := mk()
			var got []time.Duration
			elapsed := time.Duration(0)
			for hits := uint64(0); ; hits++ {
				wait, stop := p.Pace(elapsed, hits)
				if stop {
					break
				}
				elapsed += wait
				if elapsed >= 2*time.Second {
					break
				}
				got = append(got, elapsed)
			}
			if len(got) != len(want) {
				t.Fatalf("iterating Pace gave %d hits, Arrivals %d", len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("hit %d: Pace says %v, Arrivals %v", i, got[i], want[i])
				}
				if i > 0 && got[i] < got[i-1] {
					t.Fatalf("hit %d at %v is before hit %d at %v", i, got[i], i-1, got[i-1])
				}
			}
			// Hits agrees with Arrivals.
			if h := Hits(mk(), 2*time.Second); h != uint64(len(want)) {
				t.Errorf("Hits = %d, Arrivals yielded %d", h, len(want))
			}
		})
	}
}

// everyTenth is a pacer from outside the package: a hit every 10ms, five
// hits, written the vegeta way from Pace alone.
type everyTenth struct{}

func (everyTenth) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if hits >= 5 {
		return 0, true
	}
	next := time.Duration(hits) * 10 * ms
	if next <= elapsed {
		return 0, false
	}
	return next - elapsed, false
}
func (everyTenth) Rate(time.Duration) float64 { return 100 }

func TestPoissonIsSeededAndHasItsMeanRate(t *testing.T) {
	a := Poisson(1000, rand.New(rand.NewPCG(7, 7)))
	b := Poisson(1000, rand.New(rand.NewPCG(7, 7)))
	c := Poisson(1000, rand.New(rand.NewPCG(8, 8)))
	// Same seed, same times, also when asked out of order.
	for _, n := range []uint64{0, 5, 999, 3, 999, 10000} {
		ta, _ := a.due(n)
		tb, _ := b.due(n)
		if ta != tb {
			t.Fatalf("hit %d: %v vs %v with the same seed", n, ta, tb)
		}
	}
	ta, _ := a.due(100)
	tc, _ := c.due(100)
	if ta == tc {
		t.Errorf("different seeds gave the same time for hit 100")
	}
	// 10 s at a mean of 1000/s: 10000 hits ± a few standard deviations
	// (sqrt(10000) = 100).
	n := Hits(a, 10*time.Second)
	if n < 9500 || n > 10500 {
		t.Errorf("poisson 1000/s gave %d hits in 10s", n)
	}
	// The gaps are exponential: their coefficient of variation is 1 (a
	// constant pacer's is 0).
	var sum, sumSq float64
	var prev time.Duration
	for i, at := range Arrivals(a, 10*time.Second) {
		if i > 0 {
			g := (at - prev).Seconds()
			sum += g
			sumSq += g * g
		}
		prev = at
	}
	k := float64(n - 1)
	mean := sum / k
	cv := math.Sqrt(sumSq/k-mean*mean) / mean
	if cv < 0.9 || cv > 1.1 {
		t.Errorf("coefficient of variation of the gaps = %.3f, want about 1", cv)
	}
}

// Shards of a schedule partition it: together they send every hit of the
// whole, at the same times.
func TestShardsPartitionTheSchedule(t *testing.T) {
	whole := func() Pacer {
		return Sequence(Phase{Linear(10, 500, time.Second), time.Second}, Phase{BurstPacer{Size: 9, Every: 100 * ms}, time.Second})
	}
	var all []time.Duration
	for _, at := range Arrivals(whole(), 0) {
		all = append(all, at)
	}
	const n = 4
	seen := make([]bool, len(all))
	for i := 0; i < n; i++ {
		s := Shard(whole(), i, n)
		for k, at := range Arrivals(s, 0) {
			g := s.Global(k)
			if g >= uint64(len(all)) || seen[g] {
				t.Fatalf("shard %d hit %d maps to %d (of %d), seen=%v", i, k, g, len(all), g < uint64(len(all)) && seen[g])
			}
			if at != all[g] {
				t.Fatalf("shard %d hit %d at %v, whole schedule has it at %v", i, k, at, all[g])
			}
			seen[g] = true
		}
	}
	for g, ok := range seen {
		if !ok {
			t.Fatalf("hit %d of the whole schedule is in no shard", g)
		}
	}
}

func TestLength(t *testing.T) {
	if d, ok := Length(Steps(10*time.Second, 1, 2, 3)); !ok || d != 30*time.Second {
		t.Errorf("Length(steps) = %v, %v", d, ok)
	}
	if d, ok := Length(Shard(Steps(time.Second, 1, 2), 0, 2)); !ok || d != 2*time.Second {
		t.Errorf("Length(shard of steps) = %v, %v", d, ok)
	}
	if _, ok := Length(Constant(1)); ok {
		t.Error("a constant pacer has no length of its own")
	}
}
