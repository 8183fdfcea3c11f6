package scenarios

import (
	"strings"
	"testing"
	"time"
)

const fleetHead = "name: f\nload:\n  phases:\n    - {pacer: constant:10, duration: 10s}\n"

func TestFleetParses(t *testing.T) {
	src := fleetHead + `receiver:
  processing: {duration: 5ms}
spread: zipf:1.3
endpoints:
  - name: healthy
    count: 15
  - name: sick
    count: 5
    weight: 1
    receiver:
      processing: {failure_ratio: 0.5}
    faults:
      - {name: silent, after: 1s, fault: {type: blackhole, max: 2s}}
    rate_limit: {per_second: 300, retry_after: 2s}
  - name: theirs
    count: 3
    receiver: {url: "http://127.0.0.1:9000/hooks/{{.N}}"}
assertions:
  - groups.healthy.latency.p99 < duration("1s") && groups.sick.lost == 0
  - isolation.ratio <= 2
`
	s, err := Parse([]byte(src), "f.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !s.Fleet() || s.Endpoints.Size() != 23 || len(s.Endpoints.Groups) != 3 {
		t.Fatalf("endpoints = %+v", s.Endpoints)
	}
	if sp := s.Endpoints.Spread; sp.Kind != SpreadZipf || sp.Skew != 1.3 {
		t.Errorf("spread = %+v", sp)
	}
	h, sick, theirs := s.Endpoints.Groups[0], s.Endpoints.Groups[1], s.Endpoints.Groups[2]
	if h.Weight != 15 || h.Sick() || h.Receiver.Processing.Duration != 5*time.Millisecond {
		t.Errorf("healthy = %+v (weight defaults to count, processing from the top-level receiver)", h)
	}
	if !sick.Sick() || sick.Weight != 1 || len(sick.Faults) != 1 || sick.Faults[0].Name != "silent" ||
		sick.Receiver.Processing.FailureRatio != 0.5 || sick.Receiver.Processing.Duration != 0 {
		t.Errorf("sick = %+v", sick)
	}
	if rl := sick.RateLimit; rl == nil || rl.PerSecond != 300 || rl.Burst != 300 || rl.RetryAfter != 2*time.Second {
		t.Errorf("rate limit = %+v", rl)
	}
	if u, err := theirs.EndpointURL(3); err != nil || u != "http://127.0.0.1:9000/hooks/3" {
		t.Errorf("url = %q, %v", u, err)
	}
	if !s.ReadsIsolation() {
		t.Error("ReadsIsolation = false")
	}
	base := s.Healed()
	if base == nil || len(base.Endpoints.Groups) != 3 || base.Endpoints.Groups[1].Sick() || base.Endpoints.Groups[1].Count != 5 || !s.Endpoints.Groups[1].Sick() {
		t.Errorf("Healed = %+v", base)
	}
	if got := s.Endpoints.HealthyGroups(); strings.Join(got, ",") != "healthy,theirs" {
		t.Errorf("healthy groups = %v", got)
	}
}

// No endpoints: one endpoint, as ever.
func TestNoFleet(t *testing.T) {
	s, err := Parse([]byte(fleetHead), "f.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Fleet() || s.Endpoints.Size() != 0 || s.Healed() != nil || s.ReadsIsolation() {
		t.Fatalf("endpoints = %+v", s.Endpoints)
	}
}

func TestFleetErrors(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"endpoints: []\n", "f.yaml:5:12: endpoints: empty; expected a list of groups"},
		{"endpoints:\n  - {count: 2}\n", "f.yaml:6:6: endpoints[0]: missing name"},
		{"endpoints:\n  - {name: a}\n", "endpoints[0] (a): missing count"},
		{"endpoints:\n  - {name: a, count: 0}\n", "f.yaml:6:22: endpoints[0] (a).count: 0; expected 1 to 1000000"},
		{"endpoints:\n  - {name: a, count: 2}\n  - {name: a, count: 2}\n", `f.yaml:7:12: endpoints[1]: name "a" is used twice`},
		{"endpoints:\n  - {name: a-b, count: 2}\n", `endpoints[0]: name "a-b": start with a letter`},
		{"endpoints:\n  - {name: a, count: 2, weight: -1}\n", "endpoints[0] (a).weight: -1; expected a share of the load of 0 or more"},
		{"endpoints:\n  - {name: a, count: 2, weight: 0}\n", "every group has weight 0"},
		{"endpoints:\n  - {name: a, count: 2, colour: red}\n", `unknown field "colour" in endpoints[0]`},
		{"endpoints:\n  - {name: a, count: 2, rate_limit: {burst: 3}}\n", "endpoints[0] (a).rate_limit: missing per_second"},
		{"endpoints:\n  - {name: a, count: 2, rate_limit: {per_second: 5, retry_after: 500ms}}\n", "retry_after: 500ms; expected whole seconds"},
		{"endpoints:\n  - {name: a, count: 2, receiver: {url: 'http://h/{{.N}}'}, rate_limit: {per_second: 5}}\n", "rate_limit is served by hookrig's reference receiver"},
		{"endpoints:\n  - {name: a, count: 2, receiver: {url: 'http://h{{.N}}/x'}}\n", "on different hosts"},
		{"endpoints:\n  - {name: a, count: 2, receiver: {url: 'http://h/{{.Nope}}'}}\n", "expected a URL template with {{.N}}"},
		{"endpoints:\n  - {name: a, count: 2, faults: [{name: off, fault: {type: down}}]}\n", "endpoints[0] (a).faults[0] (off): a down rule switches the whole proxy off"},
		{"endpoints:\n  - {name: a, count: 2, faults: [{name: x, fault: {type: explode}}]}\n", "endpoints[0] (a).faults[0] (x): "},
		{"spread: zipf\n", "spread: spreads events over a fleet; it needs endpoints:"},
		{"spread: pareto\nendpoints: [{name: a, count: 2}]\n", `spread: "pareto": unknown spread`},
		{"spread: zipf:-1\nendpoints: [{name: a, count: 2}]\n", "the skew must be a number above 0"},
		{"endpoints: [{name: a, count: 2}]\nassertions: ['groups.b.lost == 0']\n", "reads groups.b; the fleet's groups are a"},
		{"assertions: ['groups.b.lost == 0']\n", "reads groups.b, but the scenario has no endpoints: fleet"},
		{"endpoints: [{name: a, count: 2}]\nsender: {trigger: {url: 'http://h/x'}}\n", "a fleet needs hookrig's reference sender"},
	}
	for _, c := range cases {
		_, err := Parse([]byte(fleetHead+c.yaml), "f.yaml")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\ngot  %v\nwant %q", c.yaml, err, c.want)
		}
	}
}
