package virtual

import (
	"encoding/hex"
	"math/rand/v2"
	"time"
)

// The kernel is the discrete-event core of a virtual run: one goroutine, a
// virtual clock, and a heap of pending events ordered by (time, sequence),
// so two events due at the same instant run in the order they were
// scheduled. It knows nothing about webhooks: the models (model*.go) say
// what an event means. Nothing in it reads the wall clock, sleeps, starts
// a goroutine or draws from a global random source (kernel_test.go checks
// the source), so a seed names one run.

// virtualEpoch is the instant a virtual run starts at. It is fixed, so a
// virtual Result (which only holds offsets from the start anyway) and every
// time the models hand to the policy are the same in every run.
var virtualEpoch = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// virtualEpochUnix is virtualEpoch in Unix seconds (kernel_test.go checks
// it), for the conversions a run makes a few times per event.
const virtualEpochUnix = 1767225600

// evKind says what a kernel event is; the world dispatches on it (a switch,
// not an interface or a closure per event: events are plain values, and
// scheduling one allocates nothing once the heap has grown).
type evKind uint8

// kevent is one scheduled event. ref names what it is about (an attempt,
// a crash...), in the model's own tables.
type kevent struct {
	at   int64 // nanoseconds since the run started
	seq  uint64
	ref  int32
	kind evKind
}

// kernel is the event loop's state.
type kernel struct {
	now    int64
	seq    uint64
	events []kevent // a 4-ary min-heap on (at, seq)
	// solo is the one event scheduled with atSolo, kept beside the heap
	// (valid when hasSolo): the outbox's commit, a third of all events
	// and never more than one pending, need not go through the heap.
	solo    kevent
	hasSolo bool

	seed uint64
	pcg  rand.PCG
	rnd  *rand.Rand

	trace     uint64 // running fingerprint of everything that happened
	processed uint64 // events run
}

func newKernel(seed uint64) *kernel {
	k := &kernel{seed: seed, trace: traceBasis, events: make([]kevent, 0, 1024)}
	k.rnd = rand.New(&k.pcg)
	return k
}

// at schedules an event of kind about ref at t (never before now: the past
// is done).
func (k *kernel) at(t int64, kind evKind, ref int32) {
	if t < k.now {
		t = k.now
	}
	k.seq++
	k.events = append(k.events, kevent{at: t, seq: k.seq, ref: ref, kind: kind})
	k.up(len(k.events) - 1)
}

// atSolo is at for an event of which at most one is usually pending. It
// runs in the same order as at would run it; should a solo event still be
// pending, that one moves into the heap (its seq keeps its place), so a
// caller that schedules two loses neither, it only pays the heap.
func (k *kernel) atSolo(t int64, kind evKind, ref int32) {
	if t < k.now {
		t = k.now
	}
	if k.hasSolo {
		k.events = append(k.events, k.solo)
		k.up(len(k.events) - 1)
	}
	k.seq++
	k.solo, k.hasSolo = kevent{at: t, seq: k.seq, ref: ref, kind: kind}, true
}

// peek returns when the next event is due; false when none is.
func (k *kernel) peek() (int64, bool) {
	switch {
	case len(k.events) == 0 && !k.hasSolo:
		return 0, false
	case len(k.events) == 0 || (k.hasSolo && k.solo.at < k.events[0].at):
		return k.solo.at, true
	}
	return k.events[0].at, true
}

// pop removes the next event, moves the clock to it and notes it in the
// trace.
func (k *kernel) pop() kevent {
	var e kevent
	h := k.events
	if k.hasSolo && (len(h) == 0 || eventBefore(&k.solo, &h[0])) {
		e, k.hasSolo = k.solo, false
	} else {
		e = h[0]
		last := len(h) - 1
		h[0] = h[last]
		k.events = h[:last]
		if last > 0 {
			k.down(0)
		}
	}
	k.now = e.at
	k.processed++
	k.note(uint64(e.at), uint64(e.kind))
	return e
}

// advance moves the clock to t (an arrival handled outside the heap).
func (k *kernel) advance(t int64) {
	if t > k.now {
		k.now = t
	}
}

func (k *kernel) less(i, j int) bool { return eventBefore(&k.events[i], &k.events[j]) }

// eventBefore is the kernel's order: by time, then as scheduled.
func eventBefore(a, b *kevent) bool {
	return a.at < b.at || (a.at == b.at && a.seq < b.seq)
}

// The heap is 4-ary: half the depth of a binary one, for a compare or
// two more per level among children that share a cache line. (at, seq)
// is unique, so any heap pops the events in the same order.
func (k *kernel) up(i int) {
	for i > 0 {
		p := (i - 1) / 4
		if !k.less(i, p) {
			return
		}
		k.events[i], k.events[p] = k.events[p], k.events[i]
		i = p
	}
}

func (k *kernel) down(i int) {
	h := k.events
	n := len(h)
	for {
		c := 4*i + 1
		if c >= n {
			return
		}
		best := c
		for j := c + 1; j < c+4 && j < n; j++ {
			if eventBefore(&h[j], &h[best]) {
				best = j
			}
		}
		if !eventBefore(&h[best], &h[i]) {
			return
		}
		h[i], h[best] = h[best], h[i]
		i = best
	}
}

// Random streams: each kind of draw has its own, so that a new kind of
// draw does not shift the others.
const (
	streamReceiver uint64 = 0xbb67ae8584caa73b // the receiver's processing failures
	streamCommit   uint64 = 0xa54ff53a5f1d36f1 // how long each outbox commit takes
)

// draw returns the random source for one keyed draw: (stream, a, b) is
// typically (what, event, attempt). Keying every draw to what it is about,
// rather than taking the next number from one sequence, means one more
// event or attempt does not reshuffle every later draw, so a small change
// to a scenario changes only what it touches. The source is the kernel's
// own, reseeded: it is valid until the next call.
func (k *kernel) draw(stream, a, b uint64) *rand.Rand {
	k.pcg.Seed(k.seeds(stream, a, b))
	return k.rnd
}

// seeds are the PCG seeds of draw's source for (stream, a, b), for a
// model that draws many keyed values ahead into a source of its own.
func (k *kernel) seeds(stream, a, b uint64) (uint64, uint64) {
	return splitmix(k.seed ^ stream ^ splitmix(a+1)), splitmix(k.seed + stream + 0x9e3779b97f4a7c15*(b+1))
}

// splitmix is SplitMix64's finaliser: nearby inputs land far apart.
func splitmix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

const (
	traceBasis = 14695981039346656037
	tracePrime = 1099511628211
)

// note folds two words into the trace: every event run and every record
// the models emit pass through here, so two runs with the same trace hash
// did the same things at the same virtual times.
func (k *kernel) note(a, b uint64) {
	k.trace = (k.trace ^ a) * tracePrime
	k.trace = (k.trace ^ b) * tracePrime
}

// noteString folds a string (an id, a reason) into the trace.
func (k *kernel) noteString(s string) {
	h := k.trace
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * tracePrime
	}
	k.trace = h
}

// traceHash renders the trace as 16 hex digits.
func (k *kernel) traceHash() string {
	v := splitmix(k.trace)
	var b [8]byte
	for i := range b {
		b[i] = byte(v >> (56 - 8*i))
	}
	return hex.EncodeToString(b[:])
}
