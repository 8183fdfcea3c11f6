package fault

import (
	"flag"
	"fmt"
	"go/ast"
	"go/doc/comment"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/faults.md's generated part from the fault catalogue")

const (
	docsPath  = "../../docs/faults.md"
	docsBegin = "<!-- faults:begin (generated: go test ./chaos/fault -run TestFaultsDoc -update) -->\n"
	docsEnd   = "<!-- faults:end -->"
)

// docs/faults.md's table is the catalogue, rendered: every registered
// fault with its parameters and what it does on the wire, from the fault
// types' own doc comments, and the rule budget from its constants.
func TestFaultsDoc(t *testing.T) {
	b, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	i, j := strings.Index(page, docsBegin), strings.Index(page, docsEnd)
	if i < 0 || j < i {
		t.Fatalf("%s has no generated part between %q and %q", docsPath, strings.TrimSpace(docsBegin), docsEnd)
	}
	got, want := page[i+len(docsBegin):j], faultsDoc(t)
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile(docsPath, []byte(page[:i+len(docsBegin)]+want+page[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is out of date; run: go test ./chaos/fault -run TestFaultsDoc -update\nit has:\n%s\nthe catalogue gives:\n%s", docsPath, got, want)
}

// typeDocs reads the package's source: each type's doc comment and the
// line comments of its struct fields.
func typeDocs(t *testing.T) (docs map[string]string, fields map[string]map[string]string) {
	t.Helper()
	docs, fields = map[string]string{}, map[string]map[string]string{}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.TYPE {
				continue
			}
			for _, s := range g.Specs {
				ts := s.(*ast.TypeSpec)
				docs[ts.Name.Name] = g.Doc.Text()
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				fields[ts.Name.Name] = map[string]string{}
				for _, fd := range st.Fields.List {
					for _, n := range fd.Names {
						fields[ts.Name.Name][n.Name] = strings.TrimSpace(fd.Comment.Text())
					}
				}
			}
		}
	}
	return docs, fields
}

// firstParagraph is a doc comment's first paragraph on one line, as
// Markdown.
func firstParagraph(doc string) string {
	var p comment.Parser
	d := p.Parse(doc)
	var pr comment.Printer
	for _, b := range d.Content {
		if para, ok := b.(*comment.Paragraph); ok {
			md := string(pr.Markdown(&comment.Doc{Content: []comment.Block{para}}))
			return strings.Join(strings.Fields(md), " ")
		}
	}
	return ""
}

func paramKind(ty reflect.Type) string {
	if ty.Kind() == reflect.Pointer {
		ty = ty.Elem()
	}
	switch {
	case ty == reflect.TypeFor[Duration]():
		return "duration"
	case ty.Kind() == reflect.Map:
		return "map"
	case ty.Kind() == reflect.Int:
		return "integer"
	case ty.Kind() == reflect.Float64:
		return "number"
	}
	return ty.Kind().String()
}

// params lists a fault's parameters: its exported fields with a JSON
// name, embedded structs (Delay) included.
func params(t *testing.T, ty reflect.Type, fields map[string]map[string]string) []string {
	var out []string
	for i := range ty.NumField() {
		f := ty.Field(i)
		if f.Anonymous {
			out = append(out, params(t, f.Type, fields)...)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "" {
			continue
		}
		what := fields[ty.Name()][f.Name]
		if what == "" {
			t.Errorf("%s.%s (%q) has no line comment to document it", ty.Name(), f.Name, name)
		}
		out = append(out, fmt.Sprintf("`%s` (%s): %s", name, paramKind(f.Type), what))
	}
	return out
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func faultsDoc(t *testing.T) string {
	docs, fields := typeDocs(t)
	var b strings.Builder
	b.WriteString("| fault | parameters | on the wire |\n| --- | --- | --- |\n")
	for _, name := range Types() {
		ty := reflect.TypeOf(catalogue[name]()).Elem()
		wire := firstParagraph(docs[ty.Name()])
		if wire == "" {
			t.Errorf("fault %s: type %s has no doc comment to say what it does", name, ty.Name())
		}
		ps := params(t, ty, fields)
		if len(ps) == 0 {
			ps = []string{"none"}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", name, cell(strings.Join(ps, "<br>")), cell(wire))
	}
	fmt.Fprintf(&b, `
Rule budget (a match runs on every request, so its cost is bounded by its
text and the request's size):

- at most %d nodes in a match expression;
- predicates (all, any, none, one, filter, count, find, ...) nest at most %d deep;
- at most %d elements built per evaluation (ranges, arrays, maps, sort, concat):
  a constant range over it is refused when the rule is loaded; anything
  else fails at run time, closed (no fault), and counts in the rule's
  `+"`match_errors`"+` in GET /v1/stats;
- not allowed: let, map, reduce, repeat, replace, now.
`, maxMatchNodes, maxPredicateDepth, maxBuilt)
	return b.String()
}
