package scenarios

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseSet(t *testing.T) {
	cases := []struct {
		text string
		path string
		want any
		err  string
	}{
		{text: "sender.policy.max_attempts=4", path: "sender/policy/max_attempts", want: uint64(4)},
		{text: "faults[0].probability=0.5", path: "faults/0/probability", want: 0.5},
		{text: "drain.timeout=20s", path: "drain/timeout", want: "20s"},
		{text: "load.phases.1.pacer=constant:100", path: "load/phases/1/pacer", want: "constant:100"},
		{text: "drain.keep_faults=true", path: "drain/keep_faults", want: true},
		{text: "description=", path: "description", want: nil},
		{text: "nonsense", err: "expected PATH=VALUE"},
		{text: "=4", err: "expected PATH=VALUE"},
		{text: "a..b=1", err: "empty key"},
	}
	for _, c := range cases {
		s, err := ParseSet(c.text)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.text, err, c.err)
			}
			continue
		}
		if err != nil || strings.Join(s.Path, "/") != c.path || s.Value != c.want {
			t.Errorf("%q: path %q value %#v (%v), want %q %#v", c.text, s.Path, s.Value, err, c.path, c.want)
		}
	}
}

func sets(t *testing.T, texts ...string) []Set {
	t.Helper()
	var out []Set
	for _, x := range texts {
		s, err := ParseSet(x)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// Overrides change what they name and nothing else; missing mappings are
// made; a list index must exist and a value cannot hold keys.
func TestOpenWith(t *testing.T) {
	base, err := Builtin("flaky-5xx")
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenWith("flaky-5xx", sets(t, "sender.policy.max_attempts=4", "faults[0].probability=0.5",
		"drain.timeout=20s", "receiver.dedupe_ttl=1h", "seed=9"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Sender.Policy.MaxAttempts != 4 || s.Faults[0].Rule.Probability == nil || *s.Faults[0].Rule.Probability != 0.5 ||
		s.Drain.Timeout != 20*time.Second || s.Receiver.DedupeTTL != time.Hour || s.Seed != 9 {
		t.Errorf("overrides not applied: policy %+v, fault %+v, drain %v, ttl %v, seed %d",
			s.Sender.Policy, s.Faults[0].Rule, s.Drain.Timeout, s.Receiver.DedupeTTL, s.Seed)
	}
	if s.Name != base.Name || s.Sender.Policy.Backoff != base.Sender.Policy.Backoff || len(s.Assertions) != len(base.Assertions) ||
		s.Load.Phases[0].Pacer != base.Load.Phases[0].Pacer || s.File != base.File {
		t.Errorf("something else changed: %+v", s)
	}

	for _, c := range []struct{ set, want string }{
		{"faults.3.probability=1", "faults is a list of 1; give an index from 0 to 0"},
		{"seed.x=1", "seed is a single value"},
		{"bogus=1", "with --set bogus=1:"},
		{"sender.policy.max_attempts=lots", "max_attempts"},
		{"faults.0.fault.type=nope", "nope"},
	} {
		if _, err := OpenWith("flaky-5xx", sets(t, c.set)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("--set %s: error %v, want %q", c.set, err, c.want)
		}
	}

	// A mistake in the file itself is reported at its place in the file,
	// overrides or not.
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte("name: bad\nload:\n  phases:\n    - {pacer: constant:1, duration: 1s}\nassertions:\n  - lots == 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenWith(path, sets(t, "seed=3")); err == nil || !strings.Contains(err.Error(), path+":6:5:") {
		t.Errorf("error %v, want it at %s:6:5", err, path)
	}
}
