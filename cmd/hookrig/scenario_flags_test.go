package main

import (
	"testing"
	"time"

	"github.com/hookrig/hookrig/sim/verdict"
)

// The replay line is the one place a run becomes a command line: the mode
// picks the verb, and every word a shell would split or expand is quoted.
func TestReplayLine(t *testing.T) {
	for _, tc := range []struct {
		line replayLine
		want string
	}{
		{replayLine{mode: verdict.ModeVirtual, scenario: "baseline", seed: 1}, "hookrig sim baseline --seed 1"},
		{replayLine{mode: verdict.ModeLive, scenario: "baseline", seed: 1}, "hookrig run baseline --seed 1"},
		{replayLine{mode: verdict.ModeVirtual, scenario: "my tests/flaky.yaml", seed: 7, drain: 90 * time.Second,
			sets: []string{"sender.policy.max_attempts=4", "faults[0].match=attempt == 1", "x=it's"}},
			`hookrig sim 'my tests/flaky.yaml' --seed 7 --drain 1m30s --set sender.policy.max_attempts=4 --set 'faults[0].match=attempt == 1' --set 'x=it'\''s'`},
	} {
		if got := tc.line.String(); got != tc.want {
			t.Errorf("%+v:\n got %s\nwant %s", tc.line, got, tc.want)
		}
	}
}
