// Package purity finds what ties Go code to the wall clock, the scheduler
// or a global random source: clock reads, sleeps and timers from package
// time, draws from math/rand's global source, and goroutines (go
// statements, and .Go calls such as sync.WaitGroup's). Tests of
// packages that promise to be deterministic (decisions that take now and
// a seeded source as arguments) run it over their own source files.
package purity

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
)

// randOK says whether a name of math/rand is fine: the constructors of a
// source, which take their seed, and the types.
func randOK(name string) bool {
	switch name {
	case "New", "NewPCG", "NewChaCha8", "NewZipf", "Rand", "PCG", "ChaCha8", "Source":
		return true
	}
	return false
}

// timeBad says whether a name of package time reads or waits on the wall
// clock.
func timeBad(name string) bool {
	switch name {
	case "Now", "Sleep", "After", "AfterFunc", "Tick", "NewTimer", "NewTicker", "Since", "Until":
		return true
	}
	return false
}

// File lists the impurities of one Go source file, each as
// "file:line:col: what".
func File(path string) ([]string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
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
	var bad []string
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			bad = append(bad, fmt.Sprintf("%s: go statement", fset.Position(n.Pos())))
		case *ast.CallExpr:
			// sync.WaitGroup.Go and errgroup's Go start goroutines
			// without a go statement. (By name: a pure package's own
			// method called Go is flagged too; it had better not have
			// one.)
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Go" {
				bad = append(bad, fmt.Sprintf("%s: .Go call (a goroutine)", fset.Position(n.Pos())))
			}
		case *ast.SelectorExpr:
			id, ok := n.X.(*ast.Ident)
			if !ok {
				return true
			}
			switch imports[id.Name] {
			case "time":
				if timeBad(n.Sel.Name) {
					bad = append(bad, fmt.Sprintf("%s: time.%s", fset.Position(n.Pos()), n.Sel.Name))
				}
			case "math/rand", "math/rand/v2":
				if !randOK(n.Sel.Name) {
					bad = append(bad, fmt.Sprintf("%s: global rand.%s", fset.Position(n.Pos()), n.Sel.Name))
				}
			}
		}
		return true
	})
	return bad, nil
}

// Dir runs File over every non-test Go file in dir and reports the
// impurities found together with how many files it checked, so a test can
// insist that it saw the whole package.
func Dir(dir string) (found []string, checked int, err error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, 0, err
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		bad, err := File(name)
		if err != nil {
			return nil, checked, err
		}
		checked++
		found = append(found, bad...)
	}
	return found, checked, nil
}
