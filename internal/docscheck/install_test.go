package docscheck

import (
	"go/parser"
	"go/token"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The install line the README gives works: it names this module's path
// and its command's package, a main package, go install can install it
// (no replace or exclude in go.mod), and the binary it makes is the name
// the README, the docs and the image run.
func TestInstallPathsMatchTheModule(t *testing.T) {
	gomod := read(t, filepath.Join(root, "go.mod"))
	m := regexp.MustCompile(`(?m)^module\s+(\S+)\s*$`).FindStringSubmatch(gomod)
	if m == nil {
		t.Fatal("go.mod has no module line")
	}
	module := m[1]
	if regexp.MustCompile(`(?m)^\s*(replace|exclude)\b`).MatchString(gomod) {
		t.Error("go.mod has a replace or exclude directive: go install ...@latest refuses such a module")
	}

	const cmdDir = "cmd/hookrig"
	files, _ := filepath.Glob(filepath.Join(root, cmdDir, "*.go"))
	mains := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		pf, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.PackageClauseOnly)
		if err != nil {
			t.Fatal(err)
		}
		if pf.Name.Name != "main" {
			t.Errorf("%s is package %s: go install builds a command only from package main", rel(f), pf.Name.Name)
		}
		mains++
	}
	if mains == 0 {
		t.Fatalf("no Go files in %s", cmdDir)
	}

	install := "go install " + module + "/" + cmdDir + "@latest"
	binary := path.Base(cmdDir) // what go install names the binary
	for _, page := range []string{"README.md", "docs/install.md", "docs/ci.md"} {
		text := read(t, filepath.Join(root, filepath.FromSlash(page)))
		if !strings.Contains(text, install) {
			t.Errorf("%s does not say %q", page, install)
		}
	}
	if readme := read(t, filepath.Join(root, "README.md")); !strings.Contains(readme, "`"+binary+" version`") {
		t.Errorf("README.md does not say to run `%s version` after installing", binary)
	}

	dockerfile := read(t, filepath.Join(root, "Dockerfile"))
	for _, want := range []string{
		"COPY " + binary + " /usr/local/bin/" + binary,
		`ENTRYPOINT ["/usr/local/bin/` + binary + `"]`,
		"FROM scratch",
		"USER 65532:65532",
	} {
		if !strings.Contains(dockerfile, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}

// docs/ci.md's workflow runs the README's CI recipe: the same hookrig run
// command, flag for flag.
func TestCIWorkflowMatchesTheREADME(t *testing.T) {
	recipe := func(page string) string {
		text := read(t, filepath.Join(root, filepath.FromSlash(page)))
		i := strings.Index(text, "hookrig run --receiver")
		if i < 0 {
			t.Fatalf("%s has no `hookrig run --receiver` command", page)
		}
		var words []string
		for _, line := range strings.Split(text[i:], "\n") {
			words = append(words, strings.Fields(strings.TrimSuffix(strings.TrimSpace(line), `\`))...)
			if !strings.HasSuffix(strings.TrimSpace(line), `\`) {
				break
			}
		}
		return strings.Join(words, " ")
	}
	readme, ci := recipe("README.md"), recipe("docs/ci.md")
	if readme != ci {
		t.Errorf("the CI recipes differ:\n  README.md:   %s\n  docs/ci.md:  %s", readme, ci)
	}
	if !strings.Contains(ci, "--report junit --out report.xml") {
		t.Errorf("the recipe writes no JUnit report: %s", ci)
	}
}
