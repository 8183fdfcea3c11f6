package purity

import (
	"os"
	"path/filepath"
	"testing"
)

// The checker must catch what it is there to catch, and nothing else.
func TestImpuritiesAreFound(t *testing.T) {
	dir := t.TempDir()
	src := `package x
import (
	"math/rand/v2"
	mr "math/rand"
	"sync"
	"time"
)
func f() {
	_ = time.Now()
	time.Sleep(1)
	<-time.After(1)
	_ = rand.IntN(3)
	_ = mr.Intn(3)
	go f()
	var wg sync.WaitGroup
	wg.Go(f)
	_ = rand.New(rand.NewPCG(1, 2))
	_ = time.Duration(1)
}
`
	path := filepath.Join(dir, "x.go")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := File(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 7 {
		t.Fatalf("found %d impurities, want 7: %q", len(got), got)
	}
	if _, err := File(filepath.Join(dir, "missing.go")); err == nil {
		t.Error("a missing file gave no error")
	}
}

// Dir checks the package's own files and skips its tests, which may sleep.
func TestDirSkipsTests(t *testing.T) {
	dir := t.TempDir()
	for name, src := range map[string]string{
		"a.go":      "package x\nimport \"time\"\nfunc f() { _ = time.Now() }\n",
		"b.go":      "package x\nfunc g() {}\n",
		"a_test.go": "package x\nimport \"time\"\nfunc h() { time.Sleep(1) }\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	found, checked, err := Dir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if checked != 2 || len(found) != 1 {
		t.Fatalf("checked %d files and found %q: want 2 files and the one time.Now", checked, found)
	}
}
