package docscheck

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// root is the repository, seen from this package's directory.
const root = "../.."

// readmeLimit keeps the README a newcomer's guide; the manual is docs/.
const readmeLimit = 15 * 1024

func TestREADMEIsShort(t *testing.T) {
	info, err := os.Stat(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() > readmeLimit {
		t.Errorf("README.md is %d bytes, more than %d: move the detail to a page under docs/ and link it", info.Size(), readmeLimit)
	}
}

// Every relative link in the Markdown points to a file that exists and,
// when it names an #anchor in a Markdown file, to a heading that exists.
func TestRelativeLinksResolve(t *testing.T) {
	pages := markdownPages(t)
	headings := map[string][]string{}
	for _, p := range pages {
		headings[p] = anchors(read(t, p))
	}
	for _, p := range pages {
		for _, l := range links(read(t, p)) {
			target, anchor := resolve(p, l)
			if target == "" {
				continue
			}
			if _, err := os.Stat(target); err != nil {
				t.Errorf("%s: link %q: no file %s", rel(p), l, rel(target))
				continue
			}
			if anchor == "" || !strings.HasSuffix(target, ".md") {
				continue
			}
			if _, ok := headings[target]; !ok {
				headings[target] = anchors(read(t, target))
			}
			if !slices.Contains(headings[target], anchor) {
				t.Errorf("%s: link %q: %s has no heading with anchor #%s (it has %v)", rel(p), l, rel(target), anchor, headings[target])
			}
		}
	}
}

// Every page under docs/ can be reached from the README by following
// links, directly or through an index page.
func TestEveryDocReachableFromREADME(t *testing.T) {
	start := filepath.Join(root, "README.md")
	seen := map[string]bool{start: true}
	queue := []string{start}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, l := range links(read(t, p)) {
			target, _ := resolve(p, l)
			if !strings.HasSuffix(target, ".md") || seen[target] {
				continue
			}
			if _, err := os.Stat(target); err != nil {
				continue // TestRelativeLinksResolve reports it
			}
			seen[target] = true
			queue = append(queue, target)
		}
	}
	for _, p := range markdownPages(t) {
		if !seen[p] {
			t.Errorf("%s is not linked from README.md, directly or through another page", rel(p))
		}
	}
}

// docs/fuzzing.md gives one command per fuzz target, and the code has
// exactly the targets it lists, each in the package the command names.
func TestFuzzTargetsListed(t *testing.T) {
	cmd := regexp.MustCompile(`go test (\./\S+) -run '\^\$' -fuzz '?\^?(Fuzz\w+)\$?'?`)
	var listed []string
	for _, m := range cmd.FindAllStringSubmatch(read(t, filepath.Join(root, "docs", "fuzzing.md")), -1) {
		listed = append(listed, m[1]+" "+m[2])
	}
	fn := regexp.MustCompile(`(?m)^func (Fuzz\w+)\(`)
	var inCode []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		dir, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		for _, m := range fn.FindAllStringSubmatch(read(t, path), -1) {
			inCode = append(inCode, "./"+filepath.ToSlash(dir)+" "+m[1])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(listed)
	slices.Sort(inCode)
	if len(listed) == 0 || !slices.Equal(listed, inCode) {
		t.Errorf("docs/fuzzing.md lists\n  %s\nthe code has\n  %s", strings.Join(listed, "\n  "), strings.Join(inCode, "\n  "))
	}
}

// Every `go test` command in the docs names a package that exists and,
// with -run, -bench or -fuzz, a pattern that matches a test, benchmark or
// fuzz target of that package: a test renamed or moved breaks the page.
func TestDocumentedTestCommandsRun(t *testing.T) {
	command := regexp.MustCompile("go test [^`\n]*")
	funcs := regexp.MustCompile(`(?m)^func ((?:Test|Benchmark|Fuzz|Example)\w*)\(`)
	found := 0
	for _, p := range markdownPages(t) {
		for _, c := range command.FindAllString(strings.Join(paragraphs(read(t, p)), "\n"), -1) {
			pkg, patterns := "", map[string]string{}
			args := strings.Fields(c)[2:]
			for i, a := range args {
				switch {
				case strings.HasPrefix(a, "./") && pkg == "":
					pkg = a
				case a == "-run" || a == "-bench" || a == "-fuzz":
					if i+1 == len(args) {
						t.Errorf("%s: %q: %s without a pattern", rel(p), c, a)
						continue
					}
					patterns[a] = strings.Trim(args[i+1], "'\"")
				}
			}
			if pkg == "" || strings.HasSuffix(pkg, "...") {
				continue
			}
			dir := filepath.Join(root, filepath.FromSlash(pkg))
			tests, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
			if len(tests) == 0 {
				t.Errorf("%s: %q: %s has no tests", rel(p), c, pkg)
				continue
			}
			var names []string
			for _, f := range tests {
				for _, m := range funcs.FindAllStringSubmatch(read(t, f), -1) {
					names = append(names, m[1])
				}
			}
			for flag, pattern := range patterns {
				if pattern == "^$" {
					continue
				}
				kind := map[string]string{"-run": "Test", "-bench": "Benchmark", "-fuzz": "Fuzz"}[flag]
				re, err := regexp.Compile(pattern)
				if err != nil {
					t.Errorf("%s: %q: %s %q is not a pattern: %v", rel(p), c, flag, pattern, err)
					continue
				}
				if !slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, kind) && re.MatchString(n) }) {
					t.Errorf("%s: %q: no %s function in %s matches %q", rel(p), c, kind, pkg, pattern)
				}
				found++
			}
		}
	}
	if found == 0 {
		t.Error("no go test command with -run, -bench or -fuzz found in the docs: is the pattern above still right?")
	}
}

// A generated region is a begin marker naming the command that rewrites
// it, and an end marker after it; a lost end marker would let an -update
// overwrite the rest of the page.
func TestGeneratedRegionsClosed(t *testing.T) {
	begin := regexp.MustCompile(`<!-- ([a-z0-9-]+):begin \(generated: ([^)]+)\) -->`)
	for _, p := range markdownPages(t) {
		text := read(t, p)
		for _, m := range begin.FindAllStringSubmatchIndex(text, -1) {
			name := text[m[2]:m[3]]
			if !strings.Contains(text[m[1]:], "<!-- "+name+":end -->") {
				t.Errorf("%s: generated region %q has no end marker after its begin", rel(p), name)
			}
		}
	}
}

// The link helpers are tested on their own, since a helper that finds no
// links would make the tests above pass on anything.
func TestLinkHelpers(t *testing.T) {
	md := "See [run](docs/cli/run.md#flags), [`sim`](sim.md) and ![x](a.png).\n" +
		"`[not](a link)` and https://example.com.\n" +
		"```sh\n[inside](code.md)\n```\n" +
		"[web](https://expr-lang.org) [here](#local)\n"
	got := links(md)
	want := []string{"docs/cli/run.md#flags", "sim.md", "a.png", "https://expr-lang.org", "#local"}
	if !slices.Equal(got, want) {
		t.Errorf("links = %q, want %q", got, want)
	}
	heads := anchors("# `hookrig run`: a scenario, live\n## Durability and `--sync`\n```\n# not a heading\n```\n## Flags\n## Flags\n")
	wantHeads := []string{"hookrig-run-a-scenario-live", "durability-and---sync", "flags", "flags-1"}
	if !slices.Equal(heads, wantHeads) {
		t.Errorf("anchors = %q, want %q", heads, wantHeads)
	}
	if target, anchor := resolve(filepath.Join(root, "docs", "cli", "run.md"), "../scenario-format.md#errors"); target != filepath.Join(root, "docs", "scenario-format.md") || anchor != "errors" {
		t.Errorf("resolve = %q, %q", target, anchor)
	}
	if target, _ := resolve("README.md", "https://expr-lang.org"); target != "" {
		t.Errorf("resolve of a web link = %q, want nothing", target)
	}
}

// markdownPages is README.md and every .md file under docs/.
func markdownPages(t *testing.T) []string {
	t.Helper()
	pages := []string{filepath.Join(root, "README.md")}
	err := filepath.WalkDir(filepath.Join(root, "docs"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".md") {
			pages = append(pages, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return pages
}

var (
	fence    = regexp.MustCompile("^\\s*(```|~~~)")
	codeSpan = regexp.MustCompile("`[^`]*`")
	link     = regexp.MustCompile(`\]\(([^)\s]+)\)`)
)

// links gives the targets of the Markdown links in text, outside code
// blocks and code spans, in order.
func links(text string) []string {
	var out []string
	for _, line := range prose(text) {
		for _, m := range link.FindAllStringSubmatch(codeSpan.ReplaceAllString(line, ""), -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// anchors gives the #anchors GitHub makes of the headings in text:
// lower case, punctuation dropped, spaces as hyphens, repeats numbered.
func anchors(text string) []string {
	var out []string
	count := map[string]int{}
	for _, line := range prose(text) {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.TrimSpace(strings.TrimLeft(line, "#"))
		h = link.ReplaceAllString(h, "]")
		var b strings.Builder
		for _, r := range strings.ToLower(h) {
			switch {
			case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		slug := b.String()
		if n := count[slug]; n > 0 {
			out = append(out, slug+"-"+strconv.Itoa(n))
		} else {
			out = append(out, slug)
		}
		count[slug]++
	}
	return out
}

// prose is text's lines outside fenced code blocks.
func prose(text string) []string {
	var out []string
	inCode := false
	for _, line := range strings.Split(text, "\n") {
		if fence.MatchString(line) {
			inCode = !inCode
			continue
		}
		if !inCode {
			out = append(out, line)
		}
	}
	return out
}

// paragraphs is text's code-block lines one by one and its prose
// paragraphs each joined into one line, so that a command wrapped in a
// paragraph reads whole.
func paragraphs(text string) []string {
	var out, para []string
	inCode := false
	flush := func() {
		if len(para) > 0 {
			out = append(out, strings.Join(para, " "))
			para = nil
		}
	}
	for _, line := range strings.Split(text, "\n") {
		switch {
		case fence.MatchString(line):
			flush()
			inCode = !inCode
		case inCode:
			out = append(out, line)
		case strings.TrimSpace(line) == "":
			flush()
		default:
			para = append(para, strings.TrimSpace(line))
		}
	}
	flush()
	return out
}

// resolve turns a link found in page into the file it names (page itself
// for "#anchor") and the anchor; web and mail links give no file.
func resolve(page, l string) (target, anchor string) {
	if strings.Contains(l, "://") || strings.HasPrefix(l, "mailto:") {
		return "", ""
	}
	path, anchor, _ := strings.Cut(l, "#")
	if path == "" {
		return page, anchor
	}
	return filepath.Join(filepath.Dir(page), filepath.FromSlash(path)), anchor
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func rel(path string) string {
	if r, err := filepath.Rel(root, path); err == nil {
		return filepath.ToSlash(r)
	}
	return path
}
