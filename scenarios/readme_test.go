package scenarios

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the README's table of assertion variables from Variables()")

const (
	tableBegin = "<!-- assertion-variables:begin (generated: go test ./scenarios -run TestREADMEVariables -update) -->\n"
	tableEnd   = "<!-- assertion-variables:end -->"
)

// The README's table of assertion variables is Variables(), rendered:
// every name an assertion can use is documented, and nothing else.
func TestREADMEVariables(t *testing.T) {
	const path = "../README.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i := strings.Index(readme, tableBegin)
	j := strings.Index(readme, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md has no generated table between %q and %q", strings.TrimSpace(tableBegin), tableEnd)
	}
	got, want := readme[i+len(tableBegin):j], VariablesTable()
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(readme[:i+len(tableBegin)]+want+readme[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's table of assertion variables is out of date; run: go test ./scenarios -run TestREADMEVariables -update\nREADME has:\n%s\nVariables() gives:\n%s", got, want)
}
