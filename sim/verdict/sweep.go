package verdict

import (
	"math"
	"slices"
)

// A sweep's and a vary's documents: one scenario in virtual time under
// many seeds, reduced to what the seeds are compared on. sim runs them;
// sim/report renders them; both meet here.

// SweepSchema versions the sweep's JSON.
const SweepSchema = "hookrig.sweep/v1"

// SweepResult is a sweep's outcome: one row per seed in seed order and
// each metric's spread across seeds. Like a Result, it holds nothing
// taken from the wall clock, so the same sweep gives the same JSON.
type SweepResult struct {
	Schema      string         `json:"schema"`
	Scenario    string         `json:"scenario"`
	Description string         `json:"description"`
	First       uint64         `json:"first_seed"`
	Count       uint64         `json:"seeds"`
	Failed      int            `json:"failed"`
	Passed      bool           `json:"passed"`
	Spread      []MetricSpread `json:"spread"`
	Runs        []SeedRun      `json:"runs"`
}

// SeedRun is one seed's run, reduced to what a sweep compares.
type SeedRun struct {
	Seed      uint64 `json:"seed"`
	Passed    bool   `json:"passed"`
	TraceHash string `json:"trace_hash"`
	Replay    string `json:"replay,omitempty"`
	// Failures are the assertions that did not hold.
	Failures []Assertion `json:"failures"`
	// Values are the SweepMetrics, by name.
	Values map[string]float64 `json:"values"`
}

// MetricSpread is one metric across the seeds.
type MetricSpread struct {
	Metric string  `json:"metric"`
	Min    float64 `json:"min"`
	P50    float64 `json:"p50"`
	P99    float64 `json:"p99"`
	Max    float64 `json:"max"`
	Mean   float64 `json:"mean"`
}

// SweepMetric is one figure a sweep takes from every seed's Result.
type SweepMetric struct {
	Name  string
	Value func(*Result) float64
}

// SweepMetrics are the figures a sweep compares, in report order; the
// names are the assertion variables' (delivery times in ms).
func SweepMetrics() []SweepMetric {
	n := func(f func(r *Result) int64) func(*Result) float64 {
		return func(r *Result) float64 { return float64(f(r)) }
	}
	return []SweepMetric{
		{"accepted", n(func(r *Result) int64 { return r.Events.Accepted })},
		{"delivered", n(func(r *Result) int64 { return r.Events.Delivered })},
		{"lost", n(func(r *Result) int64 { return r.Events.Lost })},
		{"duplicated", n(func(r *Result) int64 { return r.Events.Duplicated })},
		{"dead_lettered", n(func(r *Result) int64 { return r.Events.DeadLettered })},
		{"pending", n(func(r *Result) int64 { return r.Events.Pending })},
		{"reordered", n(func(r *Result) int64 { return r.Events.Reordered })},
		{"delivery.p50_ms", func(r *Result) float64 { return r.Latency.Delivery.P50 }},
		{"delivery.p99_ms", func(r *Result) float64 { return r.Latency.Delivery.P99 }},
		{"delivery.max_ms", func(r *Result) float64 { return r.Latency.Delivery.Max }},
		{"attempts.amplification", func(r *Result) float64 { return r.Attempts.Amplification }},
		{"attempts.per_event.max", n(func(r *Result) int64 { return r.Attempts.PerEvent.Max })},
		{"herd.ratio", func(r *Result) float64 { return r.Herd.Ratio }},
	}
}

// NewSeedRun reduces one seed's result to what a sweep compares: its
// verdict, the assertions that failed and the SweepMetrics. Replay is
// left to the caller (the CLI writes command lines).
func NewSeedRun(r *Result) SeedRun {
	metrics := SweepMetrics()
	run := SeedRun{Seed: r.Seed, Passed: r.Passed, TraceHash: r.TraceHash,
		Failures: []Assertion{}, Values: make(map[string]float64, len(metrics))}
	for _, a := range r.Assertions {
		if !a.Passed {
			run.Failures = append(run.Failures, a)
		}
	}
	run.Failures = append(run.Failures, r.FailedRunChecks()...)
	for _, m := range metrics {
		run.Values[m.Name] = round3(m.Value(r))
	}
	return run
}

// NewSweepResult gathers the seeds' runs (in seed order, from first) into
// a sweep's result with each metric's spread.
func NewSweepResult(scenario, description string, first uint64, runs []SeedRun) *SweepResult {
	failed := 0
	for _, r := range runs {
		if !r.Passed {
			failed++
		}
	}
	out := &SweepResult{
		Schema: SweepSchema, Scenario: scenario, Description: description,
		First: first, Count: uint64(len(runs)), Failed: failed, Passed: failed == 0, Runs: runs,
	}
	for _, m := range SweepMetrics() {
		out.Spread = append(out.Spread, spreadOf(m.Name, runs))
	}
	return out
}

// spreadOf summarises one metric over the runs; percentiles are nearest
// rank (a value some seed really had).
func spreadOf(name string, runs []SeedRun) MetricSpread {
	vs := make([]float64, len(runs))
	sum := 0.0
	for i, r := range runs {
		vs[i] = r.Values[name]
		sum += vs[i]
	}
	slices.Sort(vs)
	rank := func(p float64) float64 {
		i := int(math.Ceil(float64(len(vs))*p-1e-9)) - 1 // the ceil(n·p)th smallest
		return vs[max(0, min(i, len(vs)-1))]
	}
	return MetricSpread{Metric: name, Min: vs[0], P50: rank(0.5), P99: rank(0.99), Max: vs[len(vs)-1],
		Mean: round3(sum / float64(len(vs)))}
}

// FailedRuns are the runs where an assertion failed, in seed order.
func (r *SweepResult) FailedRuns() []SeedRun {
	var out []SeedRun
	for _, run := range r.Runs {
		if !run.Passed {
			out = append(out, run)
		}
	}
	return out
}

// VarySchema versions the JSON of a sweep repeated over one value.
const VarySchema = "hookrig.vary/v1"

// VaryResult is one sweep per value of one scenario setting (hookrig sim
// --vary PATH=V1,V2 --seeds N): which retry limit, timeout or fault rate
// is enough, over the same seeds.
type VaryResult struct {
	Schema   string      `json:"schema"`
	Scenario string      `json:"scenario"`
	Path     string      `json:"path"`
	Values   []VaryValue `json:"values"`
}

// VaryValue is the sweep with the setting at Value.
type VaryValue struct {
	Value string       `json:"value"`
	Sweep *SweepResult `json:"sweep"`
}
