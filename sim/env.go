package sim

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim/verdict"
)

// Env is the result under the names a scenario's assertions use (the
// README's table of variables). It lives here, not in sim/verdict, because
// it speaks the scenario's vocabulary: the verdict knows no scenario.
func Env(r *verdict.Result) scenarios.Env {
	ratio := func(n int64) float64 {
		if r.Events.Accepted == 0 {
			return 0
		}
		return float64(n) / float64(r.Events.Accepted)
	}
	pe := r.Attempts.PerEvent
	return scenarios.Env{
		Accepted:             int(r.Events.Accepted),
		Delivered:            int(r.Events.Delivered),
		Lost:                 int(r.Events.Lost),
		Duplicated:           int(r.Events.Duplicated),
		DuplicateDeliveries:  int(r.Events.DuplicateDeliveries),
		DeadLettered:         int(r.Events.DeadLettered),
		Pending:              int(r.Events.Pending),
		Unexpected:           int(r.Events.Unexpected),
		Reordered:            int(r.Events.Reordered),
		DeadLetteredReceived: int(r.Events.DeadLetteredReceived),
		DeliveredRatio:       ratio(r.Events.Delivered),
		LostRatio:            ratio(r.Events.Lost),
		DuplicatedRatio:      ratio(r.Events.Duplicated),
		DeadLetteredRatio:    ratio(r.Events.DeadLettered),
		Delivery:             latencyEnv(r.Latency.Delivery),
		Attempts: scenarios.Attempts{
			Total:         int(r.Attempts.Total),
			PerEvent:      scenarios.Distribution{Mean: pe.Mean, P50: int(pe.P50), P99: int(pe.P99), Max: int(pe.Max)},
			Amplification: r.Attempts.Amplification,
		},
		Herd:   scenarios.Herd{PeakRate: r.Herd.PeakRate, Ratio: r.Herd.Ratio},
		Faults: scenarios.Faults{Injected: int(r.Attempts.Faulted)},
		Load:   scenarios.LoadEnv{Sent: int(r.Load.Sent), Rejected: int(r.Load.Rejected)},
		Ordering: scenarios.Ordering{Keys: int(r.Ordering.Keys), KeysReordered: int(r.Ordering.KeysReordered),
			EventsOutOfOrder: int(r.Ordering.EventsOutOfOrder)},
		Endpoint:  endpointEnv(r.Endpoint),
		Groups:    groupsEnv(r.Endpoints),
		Isolation: isolationEnv(r.Isolation),
	}
}

// groupsEnv is a fleet's figures by group name (nil with one endpoint).
func groupsEnv(f *verdict.Fleet) map[string]scenarios.GroupEnv {
	if f == nil {
		return nil
	}
	m := make(map[string]scenarios.GroupEnv, len(f.Groups))
	for _, g := range f.Groups {
		m[g.Name] = scenarios.GroupEnv{
			Accepted: int(g.Accepted), Delivered: int(g.Delivered), Lost: int(g.Lost),
			DeadLettered: int(g.DeadLettered), Pending: int(g.Pending), Attempts: int(g.Attempts),
			Amplification: g.Amplification, Latency: latencyEnv(g.Latency),
			Herd: scenarios.Herd{PeakRate: g.Herd.PeakRate, Ratio: g.Herd.Ratio},
		}
	}
	return m
}

func isolationEnv(iso *verdict.Isolation) scenarios.Isolation {
	if iso == nil {
		return scenarios.Isolation{}
	}
	return scenarios.Isolation{P99: verdict.MsDuration(iso.P99Ms), BaselineP99: verdict.MsDuration(iso.BaselineP99Ms), Ratio: iso.Ratio}
}

func endpointEnv(e verdict.Endpoint) scenarios.Endpoint {
	env := scenarios.Endpoint{Attempts: int(e.Attempts), Answered: int(e.Answered), Failed: int(e.FailedCount()),
		Response: latencyEnv(e.Response)}
	if e.Attempts > 0 {
		env.FailedRatio = float64(env.Failed) / float64(e.Attempts)
	}
	return env
}

func latencyEnv(d verdict.LatencySummary) scenarios.Latency {
	return scenarios.Latency{
		P50: verdict.MsDuration(d.P50), P90: verdict.MsDuration(d.P90), P99: verdict.MsDuration(d.P99),
		Max: verdict.MsDuration(d.Max), Mean: verdict.MsDuration(d.Mean),
	}
}

// Check evaluates the scenario's assertions against the result and
// records their verdicts, with the run checks no scenario can switch off
// (Passed says whether all held). An assertion that reads a value over
// an empty population (a percentile of no deliveries, a ratio over no
// accepted events) fails and says so: no data is not a pass.
func Check(r *verdict.Result, s *scenarios.Scenario) {
	outs := s.Check(Env(r))
	as := make([]verdict.Assertion, len(outs))
	for i, o := range outs {
		as[i] = verdict.Assertion{Expr: o.Expr, Passed: o.Passed, Message: o.Message}
		why := noValue(r, s.Assertions[i].Variables())
		if why == "" {
			why = noFleetValue(r, s.Assertions[i].Expr)
		}
		if why != "" {
			as[i].Passed, as[i].Message = false, why
		}
	}
	r.SetAssertions(as)
	r.SetRunChecks(runChecks(r, s))
}

// noValue says why an assertion's variables have no value in r ("" when
// they all have one): a latency over no deliveries, a ratio or a per-event
// figure over no accepted events.
func noValue(r *verdict.Result, vars []string) string {
	for _, v := range vars {
		switch {
		case strings.HasPrefix(v, "delivery.") && r.Events.Delivered == 0:
			return fmt.Sprintf("no event was delivered, so %s has no value", v)
		case strings.HasPrefix(v, "endpoint.response.") && r.Endpoint.Answered == 0:
			return fmt.Sprintf("the endpoint answered no request, so %s has no value", v)
		case v == "endpoint.failed_ratio" && r.Endpoint.Attempts == 0:
			return fmt.Sprintf("the endpoint was sent no request, so %s has no value", v)
		case (strings.HasSuffix(v, "_ratio") && !strings.HasPrefix(v, "endpoint.") || v == "attempts.amplification" ||
			strings.HasPrefix(v, "attempts.per_event.")) && r.Events.Accepted == 0:
			return fmt.Sprintf("no event was accepted, so %s has no value", v)
		}
	}
	return ""
}

// noFleetValue says why a fleet variable an assertion reads has no value
// in r: isolation without its baseline, a group with nothing accepted or
// delivered ("" when all have one).
func noFleetValue(r *verdict.Result, expr string) string {
	if fleetIsolation.MatchString(expr) {
		switch iso := r.Isolation; {
		case iso == nil:
			return "the run has no isolation figure: it needs a fleet (endpoints:) with a sick group (faults or a rate limit) and a healthy one"
		case !iso.Baseline || iso.BaselineP99Ms == 0:
			return "no isolation baseline was measured (the run without the sick groups): run with --isolation, or in virtual time"
		}
	}
	for _, m := range fleetGroup.FindAllStringSubmatch(expr, -1) {
		name, field := m[1], m[2]
		var g *verdict.GroupResult
		if r.Endpoints != nil {
			for i := range r.Endpoints.Groups {
				if r.Endpoints.Groups[i].Name == name {
					g = &r.Endpoints.Groups[i]
				}
			}
		}
		switch {
		case g == nil:
			return fmt.Sprintf("the result has no fleet group %q, so groups.%s.%s has no value", name, name, field)
		case strings.HasPrefix(field, "latency") && g.Delivered == 0:
			return fmt.Sprintf("no event of group %s was delivered, so groups.%s.%s has no value", name, name, field)
		case field == "amplification" && g.Accepted == 0:
			return fmt.Sprintf("no event of group %s was accepted, so groups.%s.%s has no value", name, name, field)
		}
	}
	return ""
}

var (
	fleetIsolation = regexp.MustCompile(`(^|[^A-Za-z0-9_.])isolation\.`)
	fleetGroup     = regexp.MustCompile(`(?:^|[^A-Za-z0-9_.])groups\.([A-Za-z0-9_]+)\.([A-Za-z0-9_.]+)`)
)

// runChecks are the verdicts every run gets: something was delivered,
// and nothing was left pending unless the scenario allows it.
func runChecks(r *verdict.Result, s *scenarios.Scenario) []verdict.Assertion {
	ev := r.Events
	delivered := verdict.Assertion{Expr: "delivered > 0", Passed: ev.Delivered > 0}
	if !delivered.Passed {
		delivered.Message = fmt.Sprintf("no event was delivered (%d accepted): a run that delivers nothing cannot pass", ev.Accepted)
	}
	cs := []verdict.Assertion{delivered}
	if !s.Drain.AllowPending {
		pending := verdict.Assertion{Expr: "pending == 0", Passed: ev.Pending == 0}
		if !pending.Passed {
			pending.Message = fmt.Sprintf("%d of %d events were still pending when the drain ended (drain.timeout %s); "+
				"if that is acceptable, say drain: {allow_pending: true}", ev.Pending, ev.Accepted, s.Drain.Timeout)
		}
		cs = append(cs, pending)
	}
	return cs
}
