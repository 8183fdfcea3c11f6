package delivery

import "math/rand/v2"

// Jitter gives each retry decision its own random source, keyed by the
// sender's seed, the event's id and the attempt the decision follows.
// Drawn from one shared sequence instead, an event's backoff would depend
// on which other events happened to be decided before it (in a live
// sender, on goroutine scheduling). Keyed, the same event gets the same
// backoff on every run with the same seed, and hookrig's simulator, which
// asks the same Jitter, makes the very same retry decisions in virtual
// time.
type Jitter struct {
	src keyedSource
	rnd *rand.Rand
}

// NewJitter returns the jitter sources of one sender seed.
func NewJitter(seed uint64) *Jitter {
	j := &Jitter{src: keyedSource{seed: seed}}
	j.rnd = rand.New(&j.src)
	return j
}

// For returns the source for the decision that follows attempt n of event
// id (n = 0 for the decision before the first attempt). It is j's own
// source, reseeded: valid until the next call, and not for concurrent use.
func (j *Jitter) For(id string, n int) *rand.Rand {
	j.src.id, j.src.n, j.src.seeded = id, n, false
	return j.rnd
}

// keyedSource is a PCG seeded from (seed, id, n) on its first draw: most
// decisions draw nothing (a fixed schedule, a success, a Retry-After),
// and a simulator asks for one per attempt, so hashing the id only when
// a draw comes saves that work for them; the draws are the same.
type keyedSource struct {
	seed   uint64
	id     string
	n      int
	seeded bool
	pcg    rand.PCG
}

func (s *keyedSource) Uint64() uint64 {
	if !s.seeded {
		h := uint64(14695981039346656037) // FNV-1a over the id
		for i := 0; i < len(s.id); i++ {
			h ^= uint64(s.id[i])
			h *= 1099511628211
		}
		s.pcg.Seed(mix64(s.seed^h), mix64(s.seed+0x9e3779b97f4a7c15*uint64(s.n+1)))
		s.seeded = true
	}
	return s.pcg.Uint64()
}

// mix64 is SplitMix64's finaliser: nearby inputs land far apart.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
