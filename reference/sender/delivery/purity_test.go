package delivery

import (
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hookrig/hookrig/internal/purity"
)

// TestPurity holds the package to what its doc promises, by rule rather
// than by a list of files: no I/O, no clock, no global randomness, no
// goroutines. Its dependencies hold no network stack and no outbox; its
// own files import nothing that reaches the system (fmt and encoding/json
// link os, which is why the os rule is on direct imports); and no
// non-test file reads the clock, sleeps, draws from math/rand's global
// source or starts a goroutine.
func TestPurity(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "net" || strings.HasPrefix(dep, "net/") || strings.Contains(dep, "bbolt") ||
			strings.Contains(dep, "fasthttp") || strings.Contains(dep, "mpb") {
			t.Errorf("depends on %s: the delivery decisions must link no network stack and no outbox", dep)
		}
	}

	forbiddenImports := []string{"os", "os/exec", "io/fs", "syscall", "net", "net/http", "sync", "sync/atomic", "math/rand", "unsafe", "runtime"}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		checked++
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); slices.Contains(forbiddenImports, path) {
				t.Errorf("%s imports %s", name, path)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no source file checked")
	}
	bad, _, err := purity.Dir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bad {
		t.Errorf("%s: take now and a seeded source as arguments; start no goroutine", b)
	}
}
