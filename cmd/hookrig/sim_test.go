package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestSimJSONIsTheSameEveryTime(t *testing.T) {
	path := writeScenario(t, "quick.yaml", quickScenario)
	code, first, stderr := runCLI(t, "sim", path, "--report", "json")
	if code != exitOK {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr)
	}
	_, second, _ := runCLI(t, "sim", path, "--report", "json", "--quiet")
	if first != second {
		t.Fatalf("two runs of the same seed printed different JSON:\n%s\n---\n%s", first, second)
	}
	var res struct {
		Passed    bool
		Mode      string
		Seed      uint64
		TraceHash string `json:"trace_hash"`
		Replay    string
		Events    struct{ Accepted, Delivered, Lost int }
		Attempts  struct{ Total int }
	}
	if err := json.Unmarshal([]byte(first), &res); err != nil {
		t.Fatalf("not the JSON report: %v\n%s", err, first)
	}
	if !res.Passed || res.Mode != "virtual" || res.Seed != 3 || len(res.TraceHash) != 16 ||
		res.Events.Accepted != 10 || res.Events.Delivered != 10 || res.Attempts.Total != 11 {
		t.Errorf("result %+v", res)
	}
	if res.Replay != "hookrig sim "+path+" --seed 3" {
		t.Errorf("replay %q", res.Replay)
	}
	if strings.Contains(first, "wall") || strings.Contains(first, "speed") {
		t.Error("the JSON must not depend on how fast the run went")
	}
	if !strings.Contains(stderr, "simulating quick (seed 3)") || !regexp.MustCompile(`simulated 500ms in .* real time\): 11 attempts`).MatchString(stderr) {
		t.Errorf("stderr:\n%s", stderr)
	}

	// Another seed is another run.
	_, other, _ := runCLI(t, "sim", path, "--report", "json", "--seed", "4", "--quiet")
	if other == first || !strings.Contains(other, `"seed": 4`) || !strings.Contains(other, "--seed 4") {
		t.Errorf("--seed 4 gave:\n%s", other)
	}
}

func TestSimTextFooterAndFailingAssertion(t *testing.T) {
	path := writeScenario(t, "failing.yaml", strings.Replace(quickScenario, "  - lost == 0\n", "  - duplicated > 0\n", 1))
	code, out, stderr := runCLI(t, "sim", path, "--seed", "9")
	if code != exitAssertion {
		t.Fatalf("exit %d, want %d\nstderr:\n%s", code, exitAssertion, stderr)
	}
	footer := regexp.MustCompile(`seed 9 · trace [0-9a-f]{16} · wall time [^·]+ · [0-9.]+× real time\nreplay: hookrig sim ` + regexp.QuoteMeta(path) + ` --seed 9\n$`)
	if !footer.MatchString(out) || !strings.Contains(out, "FAIL  duplicated > 0") {
		t.Errorf("report:\n%s", out)
	}
	if !strings.Contains(stderr, "to replay it: hookrig sim "+path+" --seed 9") {
		t.Errorf("stderr:\n%s", stderr)
	}

	// JUnit to a file, quietly: the file says it, nothing else does.
	junit := filepath.Join(t.TempDir(), "junit.xml")
	code, out, stderr = runCLI(t, "sim", path, "--report", "junit", "--out", junit, "--quiet")
	b, err := os.ReadFile(junit)
	if code != exitAssertion || out != "" || stderr != "" || err != nil || !strings.Contains(string(b), "hookrig sim "+path) {
		t.Errorf("exit %d, stdout %q, stderr %q, file %v:\n%s", code, out, stderr, err, b)
	}
}

func TestSimCannotBeDoneExitsTwo(t *testing.T) {
	quick := writeScenario(t, "quick.yaml", quickScenario)
	theirs := writeScenario(t, "theirs.yaml", strings.Replace(quickScenario, "seed: 3\n", "seed: 3\nreceiver:\n  url: http://127.0.0.1:9/hook\n", 1))
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown built-in", []string{"sim", "no-such-scenario"}, `no built-in scenario "no-such-scenario"`},
		{"bad format", []string{"sim", quick, "--report", "pdf"}, "--report"},
		{"compare prints text", []string{"sim", quick, "--compare", "--report", "json"}, "--compare prints a table"},
		{"your own endpoint", []string{"sim", theirs}, "use hookrig run"},
		{"bad drain", []string{"sim", quick, "--drain", "-1s"}, "--drain"},
		{"bad seed", []string{"sim", quick, "--seed", "x"}, `--seed "x": expected a whole number`},
		{"no seeds", []string{"sim", quick, "--seeds", "0"}, "at least one seed"},
		{"seeds and compare", []string{"sim", quick, "--seeds", "3", "--compare"}, "do not go together"},
		{"seeds on your own endpoint", []string{"sim", theirs, "--seeds", "3"}, "use hookrig run"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, c.args...)
			if code != exitError || stdout != "" || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d (want %d), stdout %q, stderr:\n%s", code, exitError, stdout, stderr)
			}
		})
	}
}

// --compare runs the scenario live too; its verdict and its exit status
// agree, and both columns are filled.
func TestSimCompare(t *testing.T) {
	path := writeScenario(t, "quick.yaml", quickScenario)
	code, out, stderr := runCLI(t, "sim", path, "--compare", "--quiet")
	if code != exitOK && code != exitAssertion {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr)
	}
	row := func(metric string) []string {
		m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(metric) + `\s+(\S+)\s+(\S+)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no %s row:\n%s", metric, out)
		}
		return m[1:]
	}
	for metric, want := range map[string]string{"accepted": "10", "lost": "0", "attempts.total": "11"} {
		if got := row(metric); got[0] != want || got[1] != want {
			t.Errorf("%s: live %s, virtual %s; want %s both", metric, got[0], got[1], want)
		}
	}
	agree := strings.Contains(out, "\nAGREE ")
	if agree != (code == exitOK) || !strings.Contains(out, "the model is scaled ×") || !strings.Contains(out, "replay: hookrig run "+path) {
		t.Errorf("exit %d with verdict agree=%v:\n%s", code, agree, out)
	}
}

// --seeds: every seed passes (exit 0) or some fail (exit 1, each failing
// seed's replay in the report); the JSON is the same every time.
func TestSimSeeds(t *testing.T) {
	path := writeScenario(t, "quick.yaml", quickScenario)
	code, out, stderr := runCLI(t, "sim", path, "--seeds", "5", "--seed", "20")
	if code != exitOK || !strings.Contains(out, "PASS  every assertion held for all 5 seeds") ||
		!strings.Contains(out, "5 seeds (20 to 24)") || !strings.Contains(stderr, "under 5 seeds (20 to 24)") {
		t.Errorf("exit %d\n%s\nstderr:\n%s", code, out, stderr)
	}

	// Every other seed's event 4 gets a second 503 it cannot foresee:
	// with "attempts.total == accepted + 1" those seeds fail.
	flaky := writeScenario(t, "flaky.yaml", strings.Replace(quickScenario, "faults:\n", `faults:
  - name: sometimes-twice
    match: attempt == 2 && event_id endsWith "_4"
    probability: 0.5
    fault: {type: status, code: 503}
`, 1))
	code, first, stderr := runCLI(t, "sim", flaky, "--seeds", "12", "--report", "json", "--quiet")
	if code != exitAssertion || stderr != "" {
		t.Fatalf("exit %d (want %d), stderr:\n%s", code, exitAssertion, stderr)
	}
	var res struct {
		Seeds, Failed int
		Runs          []struct {
			Seed   uint64
			Passed bool
			Replay string
		}
	}
	if err := json.Unmarshal([]byte(first), &res); err != nil {
		t.Fatalf("not the sweep's JSON: %v\n%s", err, first)
	}
	failed := 0
	for _, r := range res.Runs {
		if !r.Passed {
			failed++
		}
		if r.Replay != fmt.Sprintf("hookrig sim %s --seed %d", flaky, r.Seed) {
			t.Errorf("replay %q", r.Replay)
		}
	}
	if res.Seeds != 12 || len(res.Runs) != 12 || res.Failed != failed || failed == 0 || failed == 12 {
		t.Errorf("seeds %d, runs %d, failed %d (counted %d)", res.Seeds, len(res.Runs), res.Failed, failed)
	}
	_, second, _ := runCLI(t, "sim", flaky, "--seeds", "12", "--report", "json", "--quiet")
	if first != second {
		t.Error("the same sweep printed different JSON")
	}
}

// --set changes the scenario for this run and is part of the replay
// command (quoted where a shell would read it otherwise).
func TestSimSet(t *testing.T) {
	path := writeScenario(t, "quick.yaml", quickScenario)
	code, out, stderr := runCLI(t, "sim", path, "--report", "json", "--quiet",
		"--set", "load.phases.0.pacer=constant:40", "--set", "faults[0].match=attempt == 1")
	if code != exitAssertion { // every event's first attempt fails now: attempts.total == accepted + 1 no longer holds
		t.Fatalf("exit %d\n%s\nstderr:\n%s", code, out, stderr)
	}
	var res struct {
		Replay   string
		Events   struct{ Accepted int }
		Attempts struct{ Total int }
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := "hookrig sim " + path + " --seed 3 --set load.phases.0.pacer=constant:40 --set 'faults[0].match=attempt == 1'"
	if res.Events.Accepted != 20 || res.Attempts.Total != 40 || res.Replay != want {
		t.Errorf("accepted %d (want 20), attempts %d (want 40), replay %q\nwant %q", res.Events.Accepted, res.Attempts.Total, res.Replay, want)
	}
	code, _, stderr = runCLI(t, "sim", path, "--set", "faults.2.match=true")
	if code != exitError || !strings.Contains(stderr, "faults is a list of 1") {
		t.Errorf("bad --set: exit %d\n%s", code, stderr)
	}
}

// --vary: one row per value; it needs --seeds; it refuses formats that
// are not a table.
func TestSimVary(t *testing.T) {
	path := writeScenario(t, "quick.yaml", quickScenario)
	code, out, stderr := runCLI(t, "sim", path, "--seeds", "3", "--vary", "load.phases.0.pacer=constant:20,constant:40", "--quiet")
	if code != exitOK || !strings.Contains(out, "load.phases.0.pacer over 3 seeds each (3 to 5)") ||
		!strings.Contains(out, "constant:20") || !strings.Contains(out, "constant:40") || stderr != "" {
		t.Errorf("exit %d\n%s\nstderr:\n%s", code, out, stderr)
	}
	code, out, _ = runCLI(t, "sim", path, "--seeds", "2", "--vary", "seed=7,8", "--report", "json", "--quiet")
	var res struct {
		Schema string
		Path   string
		Values []struct {
			Value string
			Sweep struct {
				First uint64 `json:"first_seed"`
				Runs  []struct{ Replay string }
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != exitOK || res.Schema != "hookrig.vary/v1" || len(res.Values) != 2 {
		t.Fatalf("exit %d, %v\n%s", code, err, out)
	}
	if r := res.Values[1].Sweep.Runs[0].Replay; !strings.HasSuffix(r, "--set seed=8") {
		t.Errorf("replay %q", r)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"sim", path, "--vary", "seed=1,2"}, "--vary needs --seeds"},
		{[]string{"sim", path, "--seeds", "2", "--vary", "seed"}, "expected PATH=V1,V2"},
		{[]string{"sim", path, "--seeds", "2", "--vary", "seed=1,,2"}, "expected PATH=V1,V2"},
		{[]string{"sim", path, "--seeds", "2", "--vary", "seed=1,2", "--report", "junit"}, "compares values in a table"},
		{[]string{"sim", path, "--seeds", "2", "--vary", "faults.4.probability=1,2"}, "faults is a list of 1"},
	} {
		if code, _, stderr := runCLI(t, c.args...); code != exitError || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q", c.args, code, stderr)
		}
	}
}
