package layout

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/hookrig/hookrig/"

// Heavy dependencies a package may link only when it runs something.
const (
	bbolt    = "go.etcd.io/bbolt"
	fasthttp = "github.com/valyala/fasthttp"
	mpb      = "github.com/vbauerster/mpb"
)

// rules are the import rules: pkg (relative to the module) must not
// depend, directly or through any package it imports, on anything under
// a path in mustNot (a module-relative path when it starts with no
// domain). Add a row to add a rule.
var rules = []struct {
	pkg     string
	mustNot []string
	why     string
}{
	{"sim/verdict", []string{bbolt, fasthttp, mpb, "sim/live", "sim/virtual", "sim/plan", "chaos", "loadgen", "reference/sender", "reference/receiver"},
		"the verdict knows nothing of how a run was executed"},
	{"sim/report", []string{bbolt, fasthttp, mpb, "sim/live", "sim/virtual", "sim/plan", "chaos", "loadgen", "reference/sender", "reference/receiver"},
		"rendering a saved result links no runner"},
	{"sim/plan", []string{bbolt, fasthttp, mpb, "sim/live", "sim/virtual", "sim/report", "reference/receiver"},
		"both runners take their timeline from the plan, which is pure schema"},
	{"scenarios", []string{bbolt, fasthttp, mpb, "reference/receiver", "sim"},
		"parsing a scenario links only the pure schema parts (chaos/fault, reference/sender/delivery)"},
	{"sim/live", []string{"sim/virtual", "sim/report"}, "the runners are independent of each other"},
	{"sim/virtual", []string{"sim/live", "sim/report"}, "the runners are independent of each other"},
	{"sim/hookrigtest", []string{mpb, "github.com/spf13/cobra", "cmd"},
		"a go test helper composes the parts the CLI runs, never the CLI itself (its flags, progress bars)"},
	{"chaos", []string{"loadgen", "reference/sender", "reference/receiver", "sim"}, "components never import each other"},
	{"loadgen", []string{"chaos", "reference/sender", "reference/receiver", "sim"}, "components never import each other"},
	{"reference/sender", []string{"chaos", "loadgen", "reference/receiver", "sim"}, "components never import each other"},
	{"reference/receiver", []string{"chaos", "loadgen", "reference/sender", "sim"}, "components never import each other"},
	{"reference/conform", []string{bbolt, mpb, "sim/live", "sim/virtual", "sim/plan", "sim/report", "cmd"},
		"conform grades and hands back a verdict; sim/report renders it, cmd wires it"},
}

// deps lists every package each of pkgs depends on, transitively (the
// module's packages by full import path), with one `go list`.
func deps(t *testing.T, pkgs ...string) map[string][]string {
	t.Helper()
	args := []string{"list", "-f", `{{.ImportPath}} {{join .Deps " "}}`}
	for _, p := range pkgs {
		args = append(args, module+p)
	}
	cmd := exec.Command("go", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	got := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<22)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 0 {
			got[strings.TrimPrefix(fields[0], module)] = fields[1:]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

// violations lists the deps that fall under a forbidden path: the path
// itself or anything below it.
func violations(deps, mustNot []string) []string {
	var bad []string
	for _, forbidden := range mustNot {
		full := forbidden
		if !strings.Contains(strings.SplitN(forbidden, "/", 2)[0], ".") {
			full = module + forbidden
		}
		for _, d := range deps {
			if d == full || strings.HasPrefix(d, full+"/") {
				bad = append(bad, d)
			}
		}
	}
	slices.Sort(bad)
	return slices.Compact(bad)
}

func TestImportRules(t *testing.T) {
	pkgs := make([]string, 0, len(rules))
	for _, r := range rules {
		pkgs = append(pkgs, r.pkg)
	}
	all := deps(t, pkgs...)
	for _, r := range rules {
		d, ok := all[r.pkg]
		if !ok {
			t.Errorf("%s: go list did not list it (renamed? fix the table)", r.pkg)
			continue
		}
		if bad := violations(d, r.mustNot); len(bad) > 0 {
			t.Errorf("%s must not depend on %s (%s), but it links:\n  %s",
				r.pkg, strings.Join(r.mustNot, ", "), r.why, strings.Join(bad, "\n  "))
		}
	}
}

// The rule must be able to fail: the live runner links every component
// and the outbox's bbolt, and a path's prefix is not a path below it.
func TestImportRulesCatchViolations(t *testing.T) {
	d := deps(t, "sim/live")["sim/live"]
	bad := violations(d, []string{bbolt, "chaos", "reference/sender"})
	for _, want := range []string{bbolt, module + "chaos", module + "reference/sender"} {
		if !slices.Contains(bad, want) {
			t.Errorf("sim/live links %s, but the check missed it: %q", want, bad)
		}
	}
	if got := violations([]string{module + "chaosmonkey", module + "chaos/fault"}, []string{"chaos"}); fmt.Sprint(got) != "["+module+"chaos/fault]" {
		t.Errorf("chaos must match chaos/fault and not chaosmonkey: %q", got)
	}
}
