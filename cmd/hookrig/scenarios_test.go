package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A file with several problems, structural ones among them, gets every
// one, in file order, each at its line and column, and their count (issue
// 11, finding 7: the decoder used to stop at the first structural error,
// reporting the nested key on line 7 and not the top-level one on line 2).
func TestScenariosValidateListsEveryProblemInFileOrder(t *testing.T) {
	const src = `name: several
sedd: 3
load:
  keys: 4
  phases:
    - pacer: constant:10
      duraton: 2s
    - pacer: constant:10
      duration: ten
assertions:
  - lots == 0
`
	path := filepath.Join(t.TempDir(), "several.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{path}, {"-"}} {
		stdin, name := "", path
		if args[0] == "-" {
			stdin, name = src, "stdin"
		}
		code, out, stderr := runOnce(context.Background(), stdin, append([]string{"scenarios", "validate"}, args...)...)
		if code != exitError || out != "" {
			t.Fatalf("%v: exit %d, stdout %q; want %d and nothing", args, code, out, exitError)
		}
		want := []string{
			name + `:2:1: unknown field "sedd" in the scenario; expected name, description, seed,`,
			`(did you mean "seed"?)`,
			name + ":6:14: load.phases[0] (phase-1): missing duration",
			name + `:7:7: unknown field "duraton" in load.phases[0]; expected name, pacer, start, duration (did you mean "duration"?)`,
			name + `:9:17: load.phases[1].duration: invalid duration "ten"; expected a duration such as 250ms, 30s or 1m30s`,
			name + `:11:5: assertion "lots == 0": unknown name lots`,
			name + ": 5 problems",
			"scenarios validate: 1 of 1 file is not valid",
		}
		last := -1
		for _, w := range want {
			i := strings.Index(stderr, w)
			if i < 0 || i < last {
				t.Errorf("%v: stderr lacks %q after what came before:\n%s", args, w, stderr)
				continue
			}
			last = i
		}
	}
}
