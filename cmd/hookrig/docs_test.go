package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

var updateDocs = flag.Bool("update", false, "rewrite the flag tables of docs/cli/*.md from the commands' flags")

// Every subcommand has its page, docs/cli/NAME.md, linked from the README,
// and each page's table of flags is the command's flags, rendered: a flag
// added or changed in code shows up as a failing test until the page says
// it too.
func TestFlagsDocumented(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	root := newRootCmd(newEnv(strings.NewReader(""), io.Discard, io.Discard, noEnv))
	for _, cmd := range root.Commands() {
		if cmd.Hidden || cmd.Name() == "help" || cmd.Name() == "completion" {
			continue
		}
		page := filepath.Join("..", "..", "docs", "cli", cmd.Name()+".md")
		if !bytes.Contains(readme, []byte("(docs/cli/"+cmd.Name()+".md)")) {
			t.Errorf("README.md does not link %s, the page of hookrig %s", page, cmd.Name())
		}
		b, err := os.ReadFile(page)
		if err != nil {
			t.Errorf("hookrig %s has no page: %v", cmd.Name(), err)
			continue
		}
		doc := string(b)
		for _, c := range append([]*cobra.Command{cmd}, cmd.Commands()...) {
			want := flagsTable(c)
			if want == "" {
				continue
			}
			name := strings.ReplaceAll(strings.TrimPrefix(c.CommandPath(), "hookrig "), " ", "-")
			begin := "<!-- flags-" + name + ":begin (generated: go test ./cmd/hookrig -run TestFlagsDocumented -update) -->\n"
			end := "<!-- flags-" + name + ":end -->"
			i, j := strings.Index(doc, begin), strings.Index(doc, end)
			if i < 0 || j < i {
				t.Errorf("%s has no table of the flags of %q between %q and %q", page, c.CommandPath(), strings.TrimSpace(begin), end)
				continue
			}
			if got := doc[i+len(begin) : j]; got != want {
				if !*updateDocs {
					t.Errorf("%s: the flags of %q are out of date; run: go test ./cmd/hookrig -run TestFlagsDocumented -update\nthe page has:\n%s\nthe command has:\n%s", page, c.CommandPath(), got, want)
					continue
				}
				doc = doc[:i+len(begin)] + want + doc[j:]
			}
		}
		if *updateDocs && doc != string(b) {
			if err := os.WriteFile(page, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// flagsTable renders a command's own flags (not --help) as a Markdown
// table, in the order --help lists them; "" when it has none.
func flagsTable(c *cobra.Command) string {
	var rows []string
	c.LocalFlags().VisitAll(func(f *pflag.Flag) {
		if f.Name == "help" || f.Hidden {
			return
		}
		varname, usage := pflag.UnquoteUsage(f)
		name := "--" + f.Name
		if f.Shorthand != "" {
			name = "-" + f.Shorthand + ", " + name
		}
		if varname != "" {
			name += " " + varname
		}
		switch f.DefValue {
		case "", "0", "false", "[]", "0s":
		default:
			usage += fmt.Sprintf(" (default `%s`)", f.DefValue)
		}
		rows = append(rows, fmt.Sprintf("| `%s` | %s |\n", name, strings.ReplaceAll(usage, "|", `\|`)))
	})
	if len(rows) == 0 {
		return ""
	}
	return "| flag | what it does |\n| --- | --- |\n" + strings.Join(rows, "")
}
