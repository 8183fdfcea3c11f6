package fault

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The fault catalogue is the proxy's decision as a pure function of the
// request, the time on the rules' timeline and a seeded draw: the virtual
// simulator calls it as the live proxy does. These tests hold it to that
// by import rule rather than by a list of files.

// goList runs `go list` in this package's directory.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go tool on PATH to list imports: %v", err)
	}
	out, err := exec.Command(goTool, append([]string{"list"}, args...)...).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", strings.Join(args, " "), err)
	}
	return strings.Fields(string(out))
}

// forbiddenDep says why a package must not be linked into the catalogue.
func forbiddenDep(path string) string {
	switch {
	case path == "net" || strings.HasPrefix(path, "net/"), path == "crypto/tls":
		return "networking"
	case strings.Contains(path, "valyala/fasthttp"):
		return "the proxy's HTTP server"
	case strings.Contains(path, "bbolt"):
		return "the sender's outbox"
	case path == "os/exec", path == "os/signal":
		return "processes"
	}
	return ""
}

func TestImportRule(t *testing.T) {
	deps := goList(t, "-deps", ".")
	if len(deps) < 10 {
		t.Fatalf("go list -deps gave %d packages: %q", len(deps), deps)
	}
	for _, d := range deps {
		if why := forbiddenDep(d); why != "" {
			t.Errorf("chaos/fault links %s (%s): the pure catalogue must not", d, why)
		}
	}
	// os itself is reached through fmt, so the rule for it is on this
	// module's packages: none of those in the catalogue's dependencies
	// (itself included) imports os, net or syscall directly.
	for _, line := range goList(t, "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}={{join .Imports \",\"}}{{end}}", ".") {
		pkg, imports, _ := strings.Cut(line, "=")
		if !strings.HasPrefix(pkg, "github.com/hookrig/hookrig/") {
			continue
		}
		for _, im := range strings.Split(imports, ",") {
			if im == "os" || im == "syscall" || forbiddenDep(im) != "" {
				t.Errorf("%s imports %s: the catalogue's own packages do no I/O", pkg, im)
			}
		}
	}
}

// pureUses lists what a pure file may name from the time and random
// packages: types, constants and parsing, and sources built from a seed.
// Anything else (time.Now, time.Sleep, time.After, timers, the global
// rand functions) reads the wall clock, waits, or draws from a source
// nobody seeded.
var pureUses = map[string]map[string]bool{
	"time": {"Duration": true, "Nanosecond": true, "Microsecond": true, "Millisecond": true,
		"Second": true, "Minute": true, "Hour": true, "ParseDuration": true},
	"math/rand/v2": {"Rand": true, "PCG": true, "New": true, "NewPCG": true, "Source": true},
	"math/rand":    {},
}

// impureUses finds, in one Go source, every use of the time or random
// packages outside pureUses and every go statement.
func impureUses(fset *token.FileSet, f *ast.File) []string {
	pkgs := map[string]string{} // local name -> import path
	for _, im := range f.Imports {
		path, _ := strconv.Unquote(im.Path.Value)
		if _, watched := pureUses[path]; !watched {
			continue
		}
		name := "rand"
		if path == "time" {
			name = "time"
		}
		if im.Name != nil {
			name = im.Name.Name
		}
		pkgs[name] = path
	}
	var found []string
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			found = append(found, fset.Position(n.Pos()).String()+": go statement")
		case *ast.SelectorExpr:
			if id, ok := n.X.(*ast.Ident); ok {
				if path, ok := pkgs[id.Name]; ok && !pureUses[path][n.Sel.Name] {
					found = append(found, fset.Position(n.Pos()).String()+": "+path+"."+n.Sel.Name)
				}
			}
		}
		return true
	})
	return found
}

func TestNoClockNoGlobalRandomnessNoGoroutines(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, bad := range impureUses(fset, f) {
			t.Errorf("%s: the fault catalogue must not read the clock, draw from a global source or start goroutines", bad)
		}
	}
	if checked < 15 {
		t.Fatalf("checked %d files: want every non-test file of the package", checked)
	}
}

// The checker must catch what it is there to catch.
func TestImpureUsesAreFound(t *testing.T) {
	src := `package x

import (
	r "math/rand/v2"
	"time"
)

var src = r.New(r.NewPCG(1, 2)) // seeded: allowed

func wait(d time.Duration) time.Duration {
	go wait(time.Minute + d)
	t := time.NewTimer(d)
	defer t.Stop()
	r.Shuffle(3, func(int, int) {})
	return time.Since(time.Time{}) + time.Duration(src.IntN(3))
}
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "x.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := impureUses(fset, f)
	want := []string{"go statement", "time.NewTimer", "math/rand/v2.Shuffle", "time.Since", "time.Time"}
	if len(got) != len(want) {
		t.Fatalf("found %q, want %d findings (%q)", got, len(want), want)
	}
	for i, w := range want {
		if !strings.HasSuffix(got[i], w) {
			t.Errorf("finding %d: %q, want one ending in %q", i, got[i], w)
		}
	}
}
