package scenarios

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// This file is the scenario's fleet: `endpoints:`, groups of endpoints of
// different health that share the load, and `spread:`, how events are
// spread over them. A scenario without `endpoints:` has exactly one
// endpoint (Receiver), as it always had.

// Endpoints is the scenario's fleet. The zero value (no groups) is the one
// endpoint of a scenario without `endpoints:`.
type Endpoints struct {
	Groups []Group
	Spread Spread
}

// Fleet reports whether the scenario has an `endpoints:` fleet.
func (s *Scenario) Fleet() bool { return len(s.Endpoints.Groups) > 0 }

// Size is how many endpoints the fleet has (0 without `endpoints:`).
func (e Endpoints) Size() int {
	n := 0
	for _, g := range e.Groups {
		n += g.Count
	}
	return n
}

// Group is a set of endpoints that behave alike: the same receiver, the
// same faults in front of them, the same rate limit. Its endpoints are
// named GROUP-1 … GROUP-count.
type Group struct {
	Name  string
	Count int
	// Weight is the group's share of the load, relative to the other
	// groups' weights (default: Count, so every endpoint gets the same
	// share on average).
	Weight float64
	// Receiver is the group's endpoints' receiver: hookrig's reference
	// receiver with its processing and dedupe settings, or the user's
	// endpoints at URL, a template with {{.N}} (1…Count), {{.Group}} and
	// {{.Name}}. A group that says nothing takes the scenario's top-level
	// receiver settings.
	Receiver Receiver
	// Faults are chaos rules scoped to this group's endpoints: sim/plan
	// renames them GROUP.NAME and restricts their match to the group.
	Faults []Fault
	// RateLimit, when set, is each of the group's endpoints' own limit,
	// served by the reference receiver as 429 with Retry-After.
	RateLimit *RateLimit
	pos       Pos
}

// Sick reports whether the group is unhealthy by design: it has faults or
// a rate limit. An isolation run (hookrig run --isolation, and every
// virtual fleet run) measures the other groups with the sick ones removed.
func (g Group) Sick() bool { return len(g.Faults) > 0 || g.RateLimit != nil }

// RateLimit is a token bucket per endpoint: PerSecond requests a second on
// average, Burst at once; a request over the limit is answered 429 with
// Retry-After.
type RateLimit struct {
	PerSecond  float64
	Burst      int
	RetryAfter time.Duration
}

// Spread kinds.
const (
	SpreadUniform = "uniform"
	SpreadZipf    = "zipf"
)

// DefaultZipfSkew is the skew of `spread: zipf` without one.
const DefaultZipfSkew = 1.1

// Spread is how a group's events are spread over its endpoints: uniform
// (the default), or zipf with a skew (the endpoint of rank r gets a share
// proportional to 1/r^skew, as real fleets are skewed). Groups share the
// load by weight either way.
type Spread struct {
	Kind string  // SpreadUniform or SpreadZipf
	Skew float64 // zipf only, > 0
}

// EndpointURL renders the group's URL template for its n-th endpoint
// (1-based); "" for the reference receiver.
func (g Group) EndpointURL(n int) (string, error) {
	if g.Receiver.URL == "" {
		return "", nil
	}
	return renderEndpointURL(g.Receiver.URL, g.Name, n)
}

// EndpointName is the name of a group's n-th endpoint (1-based).
func EndpointName(group string, n int) string { return group + "-" + strconv.Itoa(n) }

func renderEndpointURL(tmpl, group string, n int) (string, error) {
	if !strings.Contains(tmpl, "{{") {
		return tmpl, nil
	}
	t, err := template.New("url").Option("missingkey=error").Parse(tmpl)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	data := struct {
		N           int
		Group, Name string
	}{n, group, EndpointName(group, n)}
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

// Healed returns a copy of s whose sick groups are healed: their faults
// and rate limits are gone, everything else (the groups, the load, which
// event goes to which endpoint) is the same. It is the isolation
// baseline: the healthy groups get the very same events at the same
// moments, without the sick groups' trouble beside them. Nil when s has
// no fleet, or no sick group, or no healthy one.
func (s *Scenario) Healed() *Scenario {
	sick, healthy := 0, 0
	for _, g := range s.Endpoints.Groups {
		if g.Sick() {
			sick++
		} else {
			healthy++
		}
	}
	if sick == 0 || healthy == 0 {
		return nil
	}
	c := *s
	c.Endpoints.Groups = make([]Group, len(s.Endpoints.Groups))
	for i, g := range s.Endpoints.Groups {
		g.Faults, g.RateLimit = nil, nil
		c.Endpoints.Groups[i] = g
	}
	return &c
}

// HealthyGroups names the fleet's groups that are not sick, in order.
func (e Endpoints) HealthyGroups() []string {
	var out []string
	for _, g := range e.Groups {
		if !g.Sick() {
			out = append(out, g.Name)
		}
	}
	return out
}

// GroupNames names the fleet's groups, in order.
func (e Endpoints) GroupNames() []string {
	out := make([]string, len(e.Groups))
	for i, g := range e.Groups {
		out[i] = g.Name
	}
	return out
}

// ReadsIsolation reports whether an assertion reads an isolation.*
// variable: such a scenario needs its isolation baseline measured.
func (s *Scenario) ReadsIsolation() bool {
	for _, a := range s.Assertions {
		if isolationVar.MatchString(a.Expr) {
			return true
		}
	}
	return false
}

var (
	isolationVar = regexp.MustCompile(`(^|[^A-Za-z0-9_.])isolation\.`)
	// groupVar finds groups.NAME in an assertion.
	groupVar  = regexp.MustCompile(`(?:^|[^A-Za-z0-9_.])groups\.([A-Za-z0-9_]+)`)
	groupName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
)

// maxFleet bounds the endpoints of a scenario: the virtual model keeps a
// little state per endpoint, the live runner a registered endpoint each.
const maxFleet = 1_000_000

type rawGroup struct {
	Name      Field[string]    `yaml:"name"`
	Count     Field[int]       `yaml:"count"`
	Weight    Field[float64]   `yaml:"weight"`
	Receiver  *rawReceiver     `yaml:"receiver"`
	Faults    Field[[]rawNode] `yaml:"faults"`
	RateLimit *rawRateLimit    `yaml:"rate_limit"`
	pos       Pos
}

// decodeNode decodes a group and notes where it was written.
func (g *rawGroup) decodeNode(d *decoder, n ast.Node, path string) {
	type plain rawGroup // the same keys, without this method
	d.mapping(n, reflect.ValueOf((*plain)(g)).Elem(), path)
	g.pos = posOf(n)
}

type rawRateLimit struct {
	PerSecond  Field[float64]       `yaml:"per_second"`
	Burst      Field[int]           `yaml:"burst"`
	RetryAfter Field[time.Duration] `yaml:"retry_after"`
}

// endpoints checks the fleet: its groups, their receivers, faults and
// rate limits, and the spread. It runs after the load, the drain and the
// top-level receiver are read (group faults are checked against the load's
// timeline; groups inherit the top-level receiver).
func (b *builder) endpoints(raw *rawScenario, s *Scenario) {
	if raw.Spread.Set {
		if !raw.Endpoints.Set || len(raw.Endpoints.V) == 0 {
			b.errorf(raw.Spread.Pos, "spread: spreads events over a fleet; it needs endpoints: (a list of groups)")
		}
		sp, err := parseSpread(raw.Spread.V)
		if err != nil {
			b.errorf(raw.Spread.Pos, "spread: %v", err)
		}
		s.Endpoints.Spread = sp
	} else {
		s.Endpoints.Spread = Spread{Kind: SpreadUniform}
	}
	if !raw.Endpoints.Set {
		return
	}
	if len(raw.Endpoints.V) == 0 {
		b.errorf(raw.Endpoints.Pos, "endpoints: empty; expected a list of groups, each with a name and a count (or leave endpoints: out for one endpoint)")
		return
	}
	if s.Sender.Trigger != nil {
		b.errorf(raw.Endpoints.Pos, "endpoints: a fleet needs hookrig's reference sender, which registers one endpoint per fleet member; sender.trigger drives your own sender")
	}
	if s.Receiver.URL != "" && raw.Receiver != nil {
		b.errorf(raw.Receiver.URL.Pos, "receiver.url names one endpoint; with endpoints: give each group its own receiver.url (a template with {{.N}})")
	}
	names := map[string]bool{}
	total := 0
	counted := true // every count was read: a weight-0 fleet is then the file's doing
	var origin string
	for i, rg := range raw.Endpoints.V {
		at := orPos(rg.pos, raw.Endpoints.Pos)
		g := Group{Name: strings.TrimSpace(rg.Name.V), Count: rg.Count.V, pos: at}
		what := fmt.Sprintf("endpoints[%d]", i)
		switch {
		case !rg.Name.Set || g.Name == "":
			b.errorf(at, "%s: missing name; expected a word such as healthy", what)
		case !groupName.MatchString(g.Name):
			b.errorf(rg.Name.Pos, "%s: name %q: start with a letter, then letters, digits and '_' (it is used in endpoint names, paths and assertions: groups.%s)", what, g.Name, g.Name)
		case names[g.Name]:
			b.errorf(rg.Name.Pos, "%s: name %q is used twice", what, g.Name)
		}
		names[g.Name] = true
		if g.Name != "" {
			what = fmt.Sprintf("endpoints[%d] (%s)", i, g.Name)
		}
		if !rg.Count.Set {
			b.errorf(orPos(rg.Name.Pos, at), "%s: missing count; expected how many endpoints the group has, e.g. count: 10", what)
			counted = false
		} else if g.Count < 1 || g.Count > maxFleet {
			counted = false
			b.errorf(rg.Count.Pos, "%s.count: %d; expected 1 to %d", what, g.Count, maxFleet)
			g.Count = max(0, min(g.Count, maxFleet))
		}
		total += g.Count
		g.Weight = float64(g.Count)
		if rg.Weight.Set {
			if w := rg.Weight.V; w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
				b.errorf(rg.Weight.Pos, "%s.weight: %g; expected a share of the load of 0 or more", what, w)
			} else {
				g.Weight = w
			}
		}
		g.Receiver = s.Receiver
		g.Receiver.URL = ""
		if rg.Receiver != nil {
			b.groupReceiver(rg.Receiver, &g, what)
		}
		if g.Receiver.URL != "" && g.Count > 0 {
			o, err := b.templateOrigin(g)
			if err != nil {
				b.errorf(rg.Receiver.URL.Pos, "%s.receiver.url: %v", what, err)
			} else if origin != "" && o != origin {
				b.errorf(rg.Receiver.URL.Pos, "%s.receiver.url: every endpoint of a fleet must be on one scheme://host:port (one chaos proxy forwards to them): %s here, %s before", what, o, origin)
			} else {
				origin = o
			}
		}
		if r := rg.RateLimit; r != nil {
			g.RateLimit = b.rateLimit(r, what, orPos(r.PerSecond.Pos, at))
			if g.Receiver.URL != "" {
				b.errorf(orPos(r.PerSecond.Pos, at), "%s.rate_limit is served by hookrig's reference receiver; it cannot apply to your own endpoints at receiver.url", what)
			}
		}
		g.Faults = b.rules(rg.Faults, s, what+".faults")
		for j, f := range g.Faults {
			var head struct {
				Type string `json:"type"`
			}
			if json.Unmarshal(f.Rule.Fault, &head) == nil && head.Type == "down" {
				b.errorf(f.pos, "%s.faults[%d] (%s): a down rule switches the whole proxy off, before any request says which endpoint it is for; a group's outage is e.g. {type: status, code: 503} or {type: reset}", what, j, f.Name)
			}
		}
		s.Endpoints.Groups = append(s.Endpoints.Groups, g)
	}
	if total > maxFleet {
		b.errorf(raw.Endpoints.Pos, "endpoints: %d endpoints in all; expected at most %d", total, maxFleet)
	}
	weight := 0.0
	for _, g := range s.Endpoints.Groups {
		weight += g.Weight
	}
	if weight == 0 && counted {
		b.errorf(raw.Endpoints.Pos, "endpoints: every group has weight 0, so no event has an endpoint; give at least one group a weight above 0")
	}
}

// groupReceiver reads a group's own receiver: the reference receiver's
// settings (on top of the top-level ones) or a URL template.
func (b *builder) groupReceiver(raw *rawReceiver, g *Group, what string) {
	var r Receiver
	if raw.Instances.Set || raw.Dedupe.Set {
		b.errorf(orPos(raw.Instances.Pos, raw.Dedupe.Pos), "%s.receiver: instances and dedupe apply to the top-level receiver only, not to a fleet group's", what)
		raw.Instances, raw.Dedupe = Field[int]{}, Field[string]{}
	}
	b.receiverAt(raw, &r, what+".receiver")
	if raw.URL.Set {
		g.Receiver = Receiver{URL: r.URL}
		return
	}
	if raw.Processing != nil {
		g.Receiver.Processing = r.Processing
	}
	if raw.DedupeTTL.Set {
		g.Receiver.DedupeTTL = r.DedupeTTL
	}
}

// templateOrigin renders a group's URL template for its first and last
// endpoint and returns the scheme://host:port they share.
func (b *builder) templateOrigin(g Group) (string, error) {
	var origin string
	for _, n := range []int{1, g.Count} {
		raw, err := g.EndpointURL(n)
		if err != nil {
			return "", fmt.Errorf("%q: %v; expected a URL template with {{.N}}, {{.Group}} or {{.Name}}", g.Receiver.URL, err)
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", fmt.Errorf("%q gives %q for endpoint %d, not an http:// or https:// URL", g.Receiver.URL, raw, n)
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return "", fmt.Errorf("%q gives %q: a query or fragment cannot be forwarded per endpoint; put {{.N}} in the path", g.Receiver.URL, raw)
		}
		o := u.Scheme + "://" + u.Host
		if origin != "" && o != origin {
			return "", fmt.Errorf("%q: endpoints 1 and %d are on different hosts (%s, %s); one chaos proxy forwards to one scheme://host:port, so put {{.N}} in the path", g.Receiver.URL, n, origin, o)
		}
		origin = o
	}
	return origin, nil
}

func (b *builder) rateLimit(r *rawRateLimit, what string, at Pos) *RateLimit {
	rl := &RateLimit{PerSecond: r.PerSecond.V, Burst: r.Burst.V, RetryAfter: time.Second}
	if !r.PerSecond.Set {
		b.errorf(at, "%s.rate_limit: missing per_second; expected requests a second, e.g. per_second: 300", what)
	} else if p := r.PerSecond.V; p <= 0 || math.IsNaN(p) || math.IsInf(p, 0) {
		b.errorf(r.PerSecond.Pos, "%s.rate_limit.per_second: %g; expected a number of requests a second above 0", what, p)
	}
	if !r.Burst.Set {
		rl.Burst = max(1, int(math.Ceil(rl.PerSecond)))
	} else if r.Burst.V < 1 {
		b.errorf(r.Burst.Pos, "%s.rate_limit.burst: %d; expected 1 or more", what, r.Burst.V)
	}
	if r.RetryAfter.Set {
		// Retry-After is whole seconds on the wire: less than one would
		// be sent as 0, "retry now".
		if r.RetryAfter.V < time.Second || r.RetryAfter.V%time.Second != 0 {
			b.errorf(r.RetryAfter.Pos, "%s.rate_limit.retry_after: %s; expected whole seconds of 1s or more (Retry-After counts seconds)", what, r.RetryAfter.V)
		} else {
			rl.RetryAfter = r.RetryAfter.V
		}
	}
	return rl
}

// parseSpread reads `spread:` as `uniform`, `zipf` or `zipf:SKEW`.
func parseSpread(v string) (Spread, error) {
	kind, arg, hasArg := strings.Cut(strings.TrimSpace(v), ":")
	switch kind {
	case SpreadUniform:
		if hasArg {
			return Spread{Kind: SpreadUniform}, fmt.Errorf("%q: uniform takes no parameter; expected uniform, zipf or zipf:SKEW (e.g. zipf:1.2)", v)
		}
		return Spread{Kind: SpreadUniform}, nil
	case SpreadZipf:
		sp := Spread{Kind: SpreadZipf, Skew: DefaultZipfSkew}
		if hasArg {
			skew, err := strconv.ParseFloat(arg, 64)
			if err != nil || skew <= 0 || skew > 10 || math.IsNaN(skew) {
				return sp, fmt.Errorf("%q: the skew must be a number above 0 and at most 10, e.g. zipf:1.2", v)
			}
			sp.Skew = skew
		}
		return sp, nil
	}
	return Spread{Kind: SpreadUniform}, fmt.Errorf("%q: unknown spread; expected uniform, zipf or zipf:SKEW (e.g. zipf:1.2)", v)
}

// checkGroupRefs checks that every groups.NAME an assertion reads names a
// group of the fleet: a misspelt group would otherwise fail at run time.
func (b *builder) checkGroupRefs(a Field[string], expr string, s *Scenario) {
	for _, m := range groupVar.FindAllStringSubmatch(expr, -1) {
		name := m[1]
		known := false
		for _, g := range s.Endpoints.Groups {
			known = known || g.Name == name
		}
		if known {
			continue
		}
		if !s.Fleet() {
			b.errorf(a.Pos, "assertion %q reads groups.%s, but the scenario has no endpoints: fleet", expr, name)
		} else {
			b.errorf(a.Pos, "assertion %q reads groups.%s; the fleet's groups are %s%s", expr, name, strings.Join(s.Endpoints.GroupNames(), ", "), suggest(name, s.Endpoints.GroupNames()))
		}
	}
}
