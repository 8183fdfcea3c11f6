package plan

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hookrig/hookrig/chaos/fault"
	"github.com/hookrig/hookrig/scenarios"
)

func fleetScenario(t *testing.T, spread string, seed int) *scenarios.Scenario {
	t.Helper()
	src := "name: f\nseed: " + string(rune('0'+seed)) + "\nload:\n  phases:\n    - {pacer: constant:10, duration: 10s}\n" + spread + `
endpoints:
  - {name: big, count: 30, weight: 3}
  - {name: small, count: 10, weight: 1}
  - {name: none, count: 5, weight: 0}
  - name: sick
    count: 5
    weight: 1
    faults:
      - {name: slow, match: 'attempt == 1', fault: {type: status, code: 503}}
`
	s, err := scenarios.Parse([]byte(src), "f.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFleetEndpoints(t *testing.T) {
	f := NewFleet(fleetScenario(t, "", 1))
	if f.Len() != 50 {
		t.Fatalf("Len = %d", f.Len())
	}
	for i, want := range map[int]string{0: "big-1", 29: "big-30", 30: "small-1", 39: "small-10", 40: "none-1", 49: "sick-5"} {
		if e := f.At(i); e.Name() != want || e.Index != i {
			t.Errorf("At(%d) = %+v %s, want %s", i, e, e.Name(), want)
		}
	}
	if p := f.At(45).Path(); p != "/fleet/sick/1" {
		t.Errorf("path = %q", p)
	}
	if name, group := fault.FleetEndpoint(f.At(45).Path() + "/webhooks"); name != "sick-1" || group != "sick" {
		t.Errorf("the proxy reads %q, %q", name, group)
	}
	if NewFleet(&scenarios.Scenario{}) != nil {
		t.Error("a scenario without endpoints has a fleet")
	}
}

// Assignment is a function of (seed, k): the same for the same seed,
// different for another; groups get their weight's share, exactly
// within a few events; within a group uniform is flat and zipf skewed.
func TestFleetAssign(t *testing.T) {
	const n = 50_000
	for _, spread := range []string{"", "spread: zipf:1.2"} {
		f, again, other := NewFleet(fleetScenario(t, spread, 1)), NewFleet(fleetScenario(t, spread, 1)), NewFleet(fleetScenario(t, spread, 2))
		perGroup := map[string]int{}
		perEndpoint := make([]int, f.Len())
		same := 0
		for k := range uint64(n) {
			e := f.Assign(k)
			if e != again.Assign(k) {
				t.Fatalf("event %d: not deterministic", k)
			}
			if e == other.Assign(k) {
				same++
			}
			if at := f.At(e.Index); at != e {
				t.Fatalf("event %d: Assign %+v, At %+v", k, e, at)
			}
			perGroup[e.Group]++
			perEndpoint[e.Index]++
		}
		if same > n/5 {
			t.Errorf("%q: seeds 1 and 2 agree on %d of %d events", spread, same, n)
		}
		for g, want := range map[string]int{"big": n * 3 / 5, "small": n / 5, "sick": n / 5, "none": 0} {
			if got := perGroup[g]; got < want-5 || got > want+5 {
				t.Errorf("%q: group %s got %d events, want %d", spread, g, got, want)
			}
		}
		first, last := perEndpoint[0], perEndpoint[29]
		if spread == "" && (first < n*3/5/30*8/10 || last < n*3/5/30*8/10) {
			t.Errorf("uniform: big-1 %d, big-30 %d events; want about %d each", first, last, n*3/5/30)
		}
		if spread != "" && first < 10*last {
			t.Errorf("zipf: big-1 %d, big-30 %d events; want the first far ahead", first, last)
		}
	}
}

// A group's faults become rules scoped to its endpoints, named
// GROUP.NAME, after the scenario's own.
func TestGroupRules(t *testing.T) {
	s := fleetScenario(t, "", 1)
	specs := Rules(s)
	if len(specs) != 1 || specs[0].Name != "sick.slow" || specs[0].Match != `endpoint.group == "sick" && (attempt == 1)` || specs[0].For != fault.Duration(10*time.Second) {
		t.Fatalf("rules = %+v", specs)
	}
	if g := RuleGroup(s, "sick.slow"); g != "sick" {
		t.Errorf("RuleGroup = %q", g)
	}
	rs, err := fault.Compile(specs)
	if err != nil {
		t.Fatal(err)
	}
	f := NewFleet(s)
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range f.Len() {
		e := f.At(i)
		got, _ := rs.Choose(fault.Request{Method: "POST", Path: e.Path() + "/webhooks", Attempt: 1}, time.Second, rnd)
		if (got != nil) != (e.Group == "sick") {
			t.Errorf("%s: fault %v", e.Name(), got)
		}
	}
	// A group's own rules, as they read for its endpoints: unscoped,
	// named as in Rules, windows clipped alike; other groups get none.
	own := GroupRules(s, "sick")
	if len(own) != 1 || own[0].Name != "sick.slow" || own[0].Match != "attempt == 1" || own[0].For != specs[0].For {
		t.Fatalf("GroupRules(sick) = %+v", own)
	}
	if other := GroupRules(s, "big"); len(other) != 0 {
		t.Fatalf("GroupRules(big) = %+v, want none", other)
	}
}

// Asking a group's rules (GroupRules) decides as asking all of them
// (Rules) for every request to the group's endpoints, scenario-wide rules
// included, draw for draw.
func TestGroupRulesDecideAsRules(t *testing.T) {
	s, err := scenarios.Parse([]byte(`
name: g
seed: 3
load:
  phases:
    - {pacer: constant:10, duration: 10s}
endpoints:
  - {name: a, count: 3}
  - name: b
    count: 3
    faults:
      - {name: flaky, probability: 0.5, match: 'attempt < 3', fault: {type: status, code: 503}}
      - {name: slow, probability: 0.5, fault: {type: latency, distribution: uniform, min: 1s, max: 2s}}
  - name: c
    count: 2
    faults:
      - {name: gone, fault: {type: status, code: 410}, after: 5s}
faults:
  - {name: wide, probability: 0.3, fault: {type: status, code: 500}}
`), "g.yaml")
	if err != nil {
		t.Fatal(err)
	}
	all, err := fault.Compile(Rules(s))
	if err != nil {
		t.Fatal(err)
	}
	f := NewFleet(s)
	fired := map[string]int{}
	for _, g := range []string{"a", "b", "c"} {
		own, err := fault.Compile(GroupRules(s, g))
		if err != nil {
			t.Fatal(err)
		}
		for i := range f.Len() {
			e := f.At(i)
			if e.Group != g {
				continue
			}
			for n := range 200 {
				r := fault.Request{Method: "POST", Path: e.Path() + "/webhooks", EventID: fmt.Sprintf("evt_%d", n), Attempt: 1 + n%4}
				at := time.Duration(n%10) * time.Second
				want, wr := fault.NewDecider(7).Act(all, &r, 0, at)
				got, gr := fault.NewDecider(7).Act(own, &r, 0, at)
				if !reflect.DeepEqual(got, want) || (wr == nil) != (gr == nil) || (wr != nil && wr.Name() != gr.Name()) {
					t.Fatalf("%s, request %d: group rules give %+v (%v), all rules %+v (%v)", e.Name(), n, got, gr, want, wr)
				}
				if wr != nil {
					fired[wr.Name()]++
				}
			}
		}
	}
	for _, name := range []string{"b.flaky", "b.slow", "c.gone", "wide"} {
		if fired[name] == 0 {
			t.Errorf("rule %s never fired: the test does not exercise it", name)
		}
	}
}

// The guided zipf search finds the rank the plain binary search does,
// for random draws and for the awkward ones: the guide's bucket bounds
// and the distribution's own values.
func TestZipfGuideFindsTheRank(t *testing.T) {
	for _, n := range []int{2, 3, 50, 9200} {
		cdf := zipfCDF(n, 1.1)
		g := fleetGroup{zipf: cdf, guide: zipfGuide(cdf), count: n}
		rnd := rand.New(rand.NewPCG(uint64(n), 5))
		var vs []float64
		for range 20000 {
			vs = append(vs, rnd.Float64())
		}
		for j := range guideBuckets {
			b := float64(j) / guideBuckets
			vs = append(vs, b, math.Nextafter(b, 0), math.Nextafter(b, 1))
		}
		for _, c := range cdf {
			vs = append(vs, c, math.Nextafter(c, 0), math.Nextafter(c, 1))
		}
		for _, v := range vs {
			if v < 0 || v >= 1 {
				continue
			}
			want, _ := slices.BinarySearch(cdf, v)
			if got := g.rank(v); got != want {
				t.Fatalf("n=%d, v=%v: rank %d, binary search %d", n, v, got, want)
			}
		}
	}
}
