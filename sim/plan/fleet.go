package plan

import (
	"math"
	"slices"
	"strconv"

	"github.com/hookrig/hookrig/chaos/fault"
	"github.com/hookrig/hookrig/scenarios"
)

// This file is the fleet's plan (a scenario's `endpoints:`): which
// endpoints there are and which endpoint each event goes to. The live
// runner and the virtual world both ask a Fleet, so event k goes to the
// same endpoint in both, and a run with the same seed sends every event
// to the same endpoint again.

// Endpoint is one member of a fleet.
type Endpoint struct {
	// Index is the endpoint's place in the fleet (0 … Len-1), groups in
	// the scenario's order.
	Index int
	// Group names the endpoint's group; GroupIndex is its place in
	// scenarios.Endpoints.Groups.
	Group      string
	GroupIndex int
	// N is the endpoint's number in its group, 1 … count.
	N int
}

// Name is the endpoint's name, GROUP-N.
func (e Endpoint) Name() string { return scenarios.EndpointName(e.Group, e.N) }

// Path is the endpoint's path prefix on the chaos proxy (/fleet/GROUP/N),
// from which a rule's match reads endpoint.name and endpoint.group.
func (e Endpoint) Path() string { return fault.FleetPath(e.Group, e.N) }

// Fleet is a scenario's endpoints and how events are spread over them.
// It holds a few numbers per group and, for a zipf spread, one per
// endpoint; endpoints are worked out on demand (At), never listed.
type Fleet struct {
	groups []fleetGroup
	// cumWeight[i] is the share of the load of groups 0 … i, the last 1.
	cumWeight []float64
	size      int
	// weylOff is the group sequence's offset and uniformKey the in-group
	// draw's key, both from the seed, worked out once: Assign runs for
	// every event of a run.
	weylOff    float64
	uniformKey uint64
}

type fleetGroup struct {
	name  string
	first int // Index of the group's first endpoint
	count int
	// zipf, when set, is the cumulative share of the group's endpoints
	// by rank (the last 1); nil for a uniform spread. guide narrows the
	// search in it (zipfGuide).
	zipf  []float64
	guide []int32
}

// NewFleet plans s's fleet; nil when s has no `endpoints:` (one endpoint,
// as ever) or no group has a weight.
func NewFleet(s *scenarios.Scenario) *Fleet {
	eps := s.Endpoints
	if len(eps.Groups) == 0 {
		return nil
	}
	f := &Fleet{weylOff: weylOffset(s.Seed), uniformKey: splitmix(s.Seed + golden64)}
	total := 0.0
	for _, g := range eps.Groups {
		total += g.Weight
	}
	if !(total > 0) {
		return nil
	}
	sum := 0.0
	for _, g := range eps.Groups {
		fg := fleetGroup{name: g.Name, first: f.size, count: g.Count}
		if eps.Spread.Kind == scenarios.SpreadZipf && g.Count > 1 {
			fg.zipf = zipfCDF(g.Count, eps.Spread.Skew)
			fg.guide = zipfGuide(fg.zipf)
		}
		f.groups = append(f.groups, fg)
		f.size += g.Count
		sum += g.Weight
		f.cumWeight = append(f.cumWeight, sum/total)
	}
	f.cumWeight[len(f.cumWeight)-1] = 1
	return f
}

// zipfCDF is the cumulative share of ranks 1 … n when rank r's share is
// proportional to 1/r^skew.
func zipfCDF(n int, skew float64) []float64 {
	cdf := make([]float64, n)
	sum := 0.0
	for r := range n {
		sum += math.Pow(float64(r+1), -skew)
		cdf[r] = sum
	}
	for r := range cdf {
		cdf[r] /= sum
	}
	cdf[n-1] = 1
	return cdf
}

// guideBuckets is how many slices of [0, 1) a zipf guide has: the
// simulator assigns millions of events, and a search within one slice
// touches a few cache lines instead of the whole distribution.
const guideBuckets = 1024

// zipfGuide is, for each j ≤ guideBuckets, the first rank whose
// cumulative share is at least j/guideBuckets: the rank of a draw in
// slice j lies between guide[j] and guide[j+1].
func zipfGuide(cdf []float64) []int32 {
	g := make([]int32, guideBuckets+1)
	for j := range g {
		r, _ := slices.BinarySearch(cdf, float64(j)/guideBuckets)
		g[j] = int32(r)
	}
	return g
}

// rank is the first rank whose cumulative share is at least v (0 ≤ v < 1),
// as slices.BinarySearch(g.zipf, v) finds it, searched within v's slice
// of the guide; should rounding put v outside that slice, the search
// takes the whole distribution.
func (g *fleetGroup) rank(v float64) int {
	j := min(int(v*guideBuckets), guideBuckets-1)
	lo, hi := int(g.guide[j]), min(int(g.guide[j+1])+1, len(g.zipf))
	if (lo > 0 && g.zipf[lo-1] >= v) || (hi < len(g.zipf) && g.zipf[hi-1] < v) || lo > hi {
		r, _ := slices.BinarySearch(g.zipf, v)
		return r
	}
	r, _ := slices.BinarySearch(g.zipf[lo:hi], v)
	return lo + r
}

// Len is how many endpoints the fleet has.
func (f *Fleet) Len() int { return f.size }

// At is the fleet's i-th endpoint (0 ≤ i < Len).
func (f *Fleet) At(i int) Endpoint {
	g, _ := slices.BinarySearchFunc(f.groups, i, func(g fleetGroup, i int) int {
		switch {
		case i < g.first:
			return 1
		case i >= g.first+g.count:
			return -1
		}
		return 0
	})
	g = min(g, len(f.groups)-1)
	return Endpoint{Index: i, Group: f.groups[g].name, GroupIndex: g, N: i - f.groups[g].first + 1}
}

// Assign is the endpoint event k (the run's k-th event, from 0: the one
// whose id is EventIDPrefix(seed)+k) goes to. Groups take the load by
// weight: event k's group comes from a golden-ratio sequence over k, so
// every stretch of events is spread over the groups in their shares,
// interleaved (a group of weight 1 in 4 gets every fourth event or so,
// not a random run of them). Within the group the endpoint is drawn
// from (seed, k): uniformly, or by a zipf spread's ranks. Both are pure
// functions of (seed, k), so any event can be assigned on its own.
func (f *Fleet) Assign(k uint64) Endpoint {
	u := weylAt(f.weylOff, k)
	g, _ := slices.BinarySearch(f.cumWeight, u)
	// u lands at the first group whose cumulative share is ≥ u; a group
	// of weight 0 shares its bound with the one before and is skipped.
	for g < len(f.groups)-1 && f.cumWeight[g] <= u {
		g++
	}
	fg := &f.groups[g]
	v := unit(splitmix(f.uniformKey ^ k))
	var r int
	if fg.zipf != nil {
		r = min(fg.rank(v), fg.count-1)
	} else {
		r = min(int(v*float64(fg.count)), fg.count-1)
	}
	return Endpoint{Index: fg.first + r, Group: fg.name, GroupIndex: g, N: r + 1}
}

// The draws. A Weyl sequence frac(offset + k·φ⁻¹) has the lowest
// discrepancy there is for one dimension, so group shares are exact to
// within a few events at any length; its offset and the in-group draw
// come from SplitMix64 of the seed and k.
const (
	invGolden = 0.6180339887498949 // φ⁻¹
	golden64  = 0x9e3779b97f4a7c15
	fleetSalt = 0x5f1ee7 // keeps the group sequence apart from other draws on the seed
)

func weylOffset(seed uint64) float64 { return unit(splitmix(seed ^ fleetSalt)) }

func weylAt(off float64, k uint64) float64 {
	_, frac := math.Modf(off + float64(k%(1<<40))*invGolden)
	return frac
}

// unit maps 64 random bits to [0, 1).
func unit(x uint64) float64 { return float64(x>>11) / (1 << 53) }

func splitmix(z uint64) uint64 {
	z += golden64
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// groupRules are the chaos rules of a fleet's groups (Rules puts them
// before the scenario's own): each group's rule is named GROUP.NAME and its match is
// restricted to the group's endpoints (endpoint.group, read from the
// path). Rules includes them; this is the one place they are scoped.
// With only set, they are the rules of that group alone, unscoped (as
// they read for a request to one of its endpoints: GroupRules).
func groupRules(s *scenarios.Scenario, only *string) []scenarios.Fault {
	var out []scenarios.Fault
	for _, g := range s.Endpoints.Groups {
		if only != nil && g.Name != *only {
			continue
		}
		for _, f := range g.Faults {
			spec := f.Rule
			spec.Name = g.Name + "." + spec.Name
			if only == nil {
				scope := "endpoint.group == " + strconv.Quote(g.Name)
				if spec.Match != "" {
					scope += " && (" + spec.Match + ")"
				}
				spec.Match = scope
			}
			f.Name, f.Rule = spec.Name, spec
			out = append(out, f)
		}
	}
	return out
}

// RuleGroup names the fleet group a rule (as Rules names them) is scoped
// to, "" for a scenario-wide rule.
func RuleGroup(s *scenarios.Scenario, rule string) string {
	for _, g := range s.Endpoints.Groups {
		for _, f := range g.Faults {
			if g.Name+"."+f.Name == rule {
				return g.Name
			}
		}
	}
	return ""
}
