package sim

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
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
// random source, no goroutines. This reads the source of the sender's
// policy and the kernel and its models (chaos/fault checks itself by an
// import rule).
func TestNoWallClockOrGlobalRandomness(t *testing.T) {
	files := []string{
		"../reference/sender/policy.go", "../reference/sender/breaker.go", "../reference/sender/lanes.go",
		"../reference/sender/outcome.go", "../reference/sender/retryafter.go",
	}
	for _, glob := range []string{"kernel*.go", "model*.go", "virtual*.go"} {
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
		for _, bad := range impurities(t, f) {
			t.Errorf("%s", bad)
		}
	}
	if checked < 10 {
		t.Fatalf("checked only %d files: the list or the globs are wrong", checked)
	}
}

// impurities lists the wall-clock reads, sleeps, timers, global random
// draws and go statements in one file.
func impurities(t *testing.T, path string) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	imports := map[string]string{} // local name -> import path
	for _, im := range f.Imports {
		p, _ := strconv.Unquote(im.Path.Value)
		name := filepath.Base(p)
		if p == "math/rand/v2" {
			name = "rand"
		}
		if im.Name != nil {
			name = im.Name.Name
		}
		imports[name] = p
	}
	// Constructors of a source are fine: they take their seed.
	randOK := map[string]bool{"New": true, "NewPCG": true, "NewChaCha8": true, "NewZipf": true, "Rand": true, "PCG": true, "ChaCha8": true, "Source": true}
	timeBad := map[string]bool{"Now": true, "Sleep": true, "After": true, "AfterFunc": true, "Tick": true, "NewTimer": true, "NewTicker": true, "Since": true, "Until": true}
	var bad []string
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			bad = append(bad, fset.Position(n.Pos()).String()+": go statement")
		case *ast.SelectorExpr:
			id, ok := n.X.(*ast.Ident)
			if !ok {
				return true
			}
			switch imports[id.Name] {
			case "time":
				if timeBad[n.Sel.Name] {
					bad = append(bad, fset.Position(n.Pos()).String()+": time."+n.Sel.Name)
				}
			case "math/rand", "math/rand/v2":
				if !randOK[n.Sel.Name] {
					bad = append(bad, fset.Position(n.Pos()).String()+": global rand."+n.Sel.Name)
				}
			}
		}
		return true
	})
	return bad
}

// The checker itself must catch what it is there to catch.
func TestImpuritiesAreFound(t *testing.T) {
	dir := t.TempDir()
	src := `package x
import (
	"math/rand/v2"
	mr "math/rand"
	"time"
)
func f() {
	_ = time.Now()
	time.Sleep(1)
	<-time.After(1)
	_ = rand.IntN(3)
	_ = mr.Intn(3)
	go f()
	_ = rand.New(rand.NewPCG(1, 2))
	_ = time.Duration(1)
}
`
	path := filepath.Join(dir, "x.go")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	got := impurities(t, path)
	if len(got) != 6 {
		t.Fatalf("found %d impurities, want 6: %q", len(got), got)
	}
}
