package scenarios

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the table of assertion variables in docs/scenario-format.md from Variables()")

const (
	variablesDoc = "../docs/scenario-format.md"
	tableBegin   = "<!-- assertion-variables:begin (generated: go test ./scenarios -run TestVariablesDocumented -update) -->\n"
	tableEnd     = "<!-- assertion-variables:end -->"
)

// The scenario format's table of assertion variables is Variables(),
// rendered: every name an assertion can use is documented, and nothing else.
func TestVariablesDocumented(t *testing.T) {
	b, err := os.ReadFile(variablesDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i := strings.Index(doc, tableBegin)
	j := strings.Index(doc, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("%s has no generated table between %q and %q", variablesDoc, strings.TrimSpace(tableBegin), tableEnd)
	}
	got, want := doc[i+len(tableBegin):j], variablesTable()
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile(variablesDoc, []byte(doc[:i+len(tableBegin)]+want+doc[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s's table of assertion variables is out of date; run: go test ./scenarios -run TestVariablesDocumented -update\nthe doc has:\n%s\nVariables() gives:\n%s", variablesDoc, got, want)
}
