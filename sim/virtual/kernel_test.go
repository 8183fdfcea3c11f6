package virtual

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookrig/hookrig/internal/purity"
)

func TestKernelOrdersByTimeThenScheduling(t *testing.T) {
	k := newKernel(1)
	// (time, ref) in scheduling order; ties run in the order scheduled.
	in := []struct {
		at  int64
		ref int32
	}{{50, 1}, {10, 2}, {50, 3}, {0, 4}, {10, 5}, {99, 6}, {10, 7}, {0, 8}}
	for _, e := range in {
		k.at(e.at, evWake, e.ref)
	}
	var got []int32
	var last int64
	for {
		if _, ok := k.peek(); !ok {
			break
		}
		e := k.pop()
		if e.at < last || k.now != e.at {
			t.Fatalf("clock went from %d to %d (event at %d)", last, k.now, e.at)
		}
		last = e.at
		got = append(got, e.ref)
	}
	if want := []int32{4, 8, 2, 5, 7, 1, 3, 6}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	if k.processed != uint64(len(in)) {
		t.Fatalf("processed %d, want %d", k.processed, len(in))
	}
}

func TestKernelNeverSchedulesIntoThePast(t *testing.T) {
	k := newKernel(1)
	k.at(100, evWake, 1)
	k.pop()
	k.at(40, evWake, 2) // a late caller: it runs now, not before now
	if e := k.pop(); e.at != 100 || k.now != 100 {
		t.Fatalf("event at %d, clock %d; want both 100", e.at, k.now)
	}
}

func TestKernelHeapUnderLoad(t *testing.T) {
	k := newKernel(7)
	r := k.draw(streamCommit, 0, 0)
	const n = 5000
	for i := range n {
		k.at(r.Int64N(1000), evWake, int32(i))
	}
	var prev kevent
	for i := range n {
		e := k.pop()
		if i > 0 && (e.at < prev.at || e.at == prev.at && e.seq < prev.seq) {
			t.Fatalf("event %d (%d, %d) after (%d, %d)", i, e.at, e.seq, prev.at, prev.seq)
		}
		prev = e
	}
}

// Keyed draws depend on their key only: drawing something else in
// between, or in another order, changes nothing.
func TestKernelDrawsAreKeyed(t *testing.T) {
	a, b := newKernel(42), newKernel(42)
	x := a.draw(streamCommit, 7, 3).Uint64()
	for i := range 100 {
		b.draw(streamReceiver, uint64(i), 1).Uint64()
	}
	if y := b.draw(streamCommit, 7, 3).Uint64(); x != y {
		t.Fatalf("the same key drew %d and %d", x, y)
	}
	seen := map[uint64][3]uint64{}
	for _, key := range [][3]uint64{{streamCommit, 7, 3}, {streamCommit, 7, 4}, {streamCommit, 8, 3}, {streamReceiver, 7, 3}} {
		v := a.draw(key[0], key[1], key[2]).Uint64()
		if prev, dup := seen[v]; dup {
			t.Fatalf("keys %v and %v drew the same number", key, prev)
		}
		seen[v] = key
	}
	if c := newKernel(43); c.draw(streamCommit, 7, 3).Uint64() == x {
		t.Fatal("another seed drew the same number")
	}
}

func TestKernelTraceFingerprintsEvents(t *testing.T) {
	run := func(times ...int64) string {
		k := newKernel(1)
		for _, at := range times {
			k.at(at, evWake, 0)
		}
		for len(k.events) > 0 {
			k.pop()
		}
		return k.traceHash()
	}
	a, b, c := run(1, 2, 3), run(1, 2, 3), run(1, 2, 4)
	if a != b || a == c || len(a) != 16 {
		t.Fatalf("trace hashes %q %q %q: want the first two equal, the third different, 16 hex digits", a, b, c)
	}
}

// The seams that make virtual time possible (ARCHITECTURE.md) hold only
// if the pure parts stay pure: no wall clock, no sleeping, no global
// random source, no goroutines. This reads the kernel, the world and its
// models; the sender's decisions (reference/sender/delivery) and the chaos
// rules (chaos/fault) hold themselves to it by their own purity tests.
func TestNoWallClockOrGlobalRandomness(t *testing.T) {
	var files []string
	// "*.go": every file of this package (tests are skipped below).
	for _, glob := range []string{"*.go"} {
		m, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		checked++
		bad, err := purity.File(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bad {
			t.Errorf("%s", b)
		}
	}
	if checked < 8 {
		t.Fatalf("checked only %d files: the list or the globs are wrong", checked)
	}
}

// An event scheduled with atSolo runs exactly where at would have run
// it: the same order, the same trace; also when, now and then, a second
// one is scheduled while one is pending.
func TestKernelSoloRunsAsScheduled(t *testing.T) {
	ref, solo := newKernel(3), newKernel(3)
	r := newKernel(9).draw(streamCommit, 0, 0)
	soloPending := false
	var got, want []kevent
	for i := range 20000 {
		// Schedule a few events, now and then one solo (mostly at most
		// one pending), then run one; ties at the same instant are common.
		for range r.IntN(3) {
			at := ref.now + r.Int64N(50)
			ref.at(at, evWake, int32(i))
			solo.at(at, evWake, int32(i))
		}
		if (!soloPending || r.IntN(16) == 0) && r.IntN(2) == 0 {
			at := ref.now + r.Int64N(50)
			ref.at(at, evCommit, int32(i))
			solo.atSolo(at, evCommit, int32(i))
			soloPending = true
		}
		a, aok := ref.peek()
		b, bok := solo.peek()
		if a != b || aok != bok {
			t.Fatalf("step %d: peek (%d, %v), want (%d, %v)", i, b, bok, a, aok)
		}
		if !aok {
			continue
		}
		want, got = append(want, ref.pop()), append(got, solo.pop())
		if got[len(got)-1].kind == evCommit {
			soloPending = false
		}
	}
	if !slices.Equal(got, want) || solo.traceHash() != ref.traceHash() {
		t.Fatalf("with atSolo the events ran otherwise (%d events)", len(want))
	}
}

// The run's clock conversions are time.Time's own, made cheaper.
func TestVirtualTimeConversions(t *testing.T) {
	if virtualEpoch.Unix() != virtualEpochUnix {
		t.Fatalf("virtualEpochUnix %d, virtualEpoch is %d", virtualEpochUnix, virtualEpoch.Unix())
	}
	w := &world{}
	for _, d := range []time.Duration{0, 1, time.Second - 1, time.Second, 36*time.Hour + 7, -time.Second - 3, 100 * 365 * 24 * time.Hour} {
		if got, want := w.time(int64(d)), virtualEpoch.Add(d); got != want {
			t.Errorf("time(%d) = %v, want %v", d, got, want)
		}
		if got := w.off(virtualEpoch.Add(d)); got != int64(d) {
			t.Errorf("off(epoch+%d) = %d", d, got)
		}
	}
	// Far away, where Sub saturates, off still agrees with it.
	far := time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC)
	if got, want := w.off(far), int64(far.Sub(virtualEpoch)); got != want {
		t.Errorf("off(%v) = %d, want %d", far, got, want)
	}
}

// The outbox's commit factors drawn ahead are the ones a draw per commit
// gives, across the batches' edges and after a jump back.
func TestCommitFactorsAhead(t *testing.T) {
	k := newKernel(11)
	o := outboxModel{commit: 1e5, sigma: 0.3}
	one := func(n uint64) float64 { return math.Exp(o.sigma * k.draw(streamCommit, n, 0).NormFloat64()) }
	for _, n := range []uint64{1, 2, 255, 256, 257, 700, 3 * commitsAhead, 5, 6, 1000} {
		if got, want := o.factor(k, n), one(n); got != want {
			t.Fatalf("commit %d: factor %v drawn ahead, %v drawn alone", n, got, want)
		}
	}
}
