package delivery

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
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
	// Calls that read or wait on the wall clock; now is always an argument.
	forbiddenTime := []string{"Now", "Since", "Until", "Sleep", "After", "AfterFunc", "Tick", "NewTimer", "NewTicker"}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		local := map[string]string{} // the name a file uses for an import -> its path
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if slices.Contains(forbiddenImports, path) {
				t.Errorf("%s imports %s", fset.Position(imp.Pos()), path)
			}
			n := filepath.Base(path)
			if path == "math/rand/v2" {
				n = "rand"
			}
			if imp.Name != nil {
				n = imp.Name.Name
			}
			local[n] = path
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%s starts a goroutine", fset.Position(n.Pos()))
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				x, ok := sel.X.(*ast.Ident)
				if !ok {
					return true
				}
				switch local[x.Name] {
				case "time":
					if slices.Contains(forbiddenTime, sel.Sel.Name) {
						t.Errorf("%s calls time.%s: take now as an argument", fset.Position(n.Pos()), sel.Sel.Name)
					}
				case "math/rand/v2":
					// Only building a seeded source is allowed; the
					// package-level draws use a global source.
					if sel.Sel.Name != "New" && !strings.HasPrefix(sel.Sel.Name, "NewPCG") && sel.Sel.Name != "NewChaCha8" {
						t.Errorf("%s calls rand.%s, the global source: draw from the *rand.Rand passed in", fset.Position(n.Pos()), sel.Sel.Name)
					}
				}
			}
			return true
		})
	}
	if checked == 0 {
		t.Fatal("no source file checked")
	}
}
