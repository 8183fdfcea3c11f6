package delivery

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// A decision's jitter depends on (seed, event, attempt) only: not on how
// many other decisions were drawn before it.
func TestJitterKeyedPerEventAndAttempt(t *testing.T) {
	p := Policy{Backoff: Backoff{Base: time.Second, Factor: 2, Cap: time.Hour}, MaxAttempts: 10}
	a, b := NewJitter(42), NewJitter(42)
	want := p.Delay(5, a.For("evt_1", 5))
	for i := range 100 { // unrelated decisions in between
		p.Delay(3, b.For("evt_other", i))
	}
	if got := p.Delay(5, b.For("evt_1", 5)); got != want {
		t.Fatalf("same key gave %s then %s", want, got)
	}
	differ := 0
	for _, k := range []struct {
		seed uint64
		id   string
		n    int
	}{{43, "evt_1", 5}, {42, "evt_2", 5}, {42, "evt_1", 6}} {
		if p.Delay(5, NewJitter(k.seed).For(k.id, k.n)) != want {
			differ++
		}
	}
	if differ != 3 {
		t.Fatalf("changing seed, id or attempt changed the draw in %d of 3 cases", differ)
	}
	// Still full jitter: draws spread over [0, ceiling].
	j := NewJitter(1)
	var lo, hi time.Duration = time.Hour, 0
	for i := range 2000 {
		d := p.Delay(3, j.For("evt_"+string(rune('a'+i%26))+string(rune('a'+i/26)), 3))
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo > 200*time.Millisecond || hi < 3800*time.Millisecond || hi > 4*time.Second {
		t.Fatalf("2000 draws of a 4 s ceiling spread over [%s, %s]", lo, hi)
	}
}

// Seeding on the first draw gives the draws of a PCG seeded from the key
// at once, however many draws there are, none included.
func TestJitterSeedsOnFirstDraw(t *testing.T) {
	j := NewJitter(7)
	for n := range 4 {
		id := "evt_" + strconv.Itoa(n)
		h := uint64(14695981039346656037)
		for i := 0; i < len(id); i++ {
			h = (h ^ uint64(id[i])) * 1099511628211
		}
		want := rand.New(rand.NewPCG(mix64(7^h), mix64(7+0x9e3779b97f4a7c15*uint64(n+1))))
		j.For("evt_unused", n) // no draw: the next For still starts afresh
		r := j.For(id, n)
		for k := range n {
			if got, w := r.Uint64(), want.Uint64(); got != w {
				t.Fatalf("%s attempt %d: draw %d = %d, want %d", id, n, k, got, w)
			}
		}
	}
}

func BenchmarkJitterFor(b *testing.B) {
	j := NewJitter(1)
	b.ReportAllocs()
	for b.Loop() {
		j.For("evt_123_456789", 3).Int64N(1000)
	}
}
