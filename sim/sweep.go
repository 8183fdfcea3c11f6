package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/hookrig/hookrig/scenarios"
)

// A sweep runs one scenario in virtual time under many seeds: what one
// evaluating a retry policy wants before shipping it is not one lucky
// run but "did every assertion hold for 200 seeds, and how far do lost,
// duplicates and p99 spread?" — the way simulation-tested systems
// (FoundationDB, TigerBeetle) run thousands of seeds and keep the failing
// ones as replayable cases.

// SweepSchema versions the sweep's JSON.
const SweepSchema = "hookrig.sweep/v1"

// SweepOptions configure a sweep. Seeds are First, First+1, … First+Count-1.
type SweepOptions struct {
	First, Count uint64
	// Parallel is how many seeds run at once (each on one goroutine, as
	// every virtual run is); 0 means GOMAXPROCS. The result does not
	// depend on it.
	Parallel int
	// Model overrides DefaultModel, as in VirtualOptions.
	Model *Model
	// Replay makes each seed's replay command: given the seed, the
	// command line that runs that seed alone.
	Replay func(seed uint64) string
	// Done, when set, is called after each seed (from the sweep's
	// goroutines, one call at a time), for progress.
	Done func(done, total uint64, failed int)
}

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

// Sweep runs s in virtual time once per seed. Only a scenario error or a
// cancelled ctx stops it; failing assertions are in the result, and
// Passed says whether every seed passed.
func Sweep(ctx context.Context, s *scenarios.Scenario, opts SweepOptions) (*SweepResult, error) {
	if s == nil {
		return nil, errors.New("sim: no scenario")
	}
	if opts.Count == 0 {
		return nil, errors.New("sim: a sweep needs at least one seed")
	}
	if opts.First+opts.Count-1 < opts.First {
		return nil, fmt.Errorf("sim: seeds %d and %d more overflow a uint64", opts.First, opts.Count-1)
	}
	par := opts.Parallel
	if par <= 0 {
		par = runtime.GOMAXPROCS(0)
	}
	par = int(min(uint64(par), opts.Count))
	metrics := SweepMetrics()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runs := make([]SeedRun, opts.Count)
	var (
		mu       sync.Mutex
		next     uint64
		done     uint64
		failed   int
		firstErr error
		wg       sync.WaitGroup
	)
	for range par {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= opts.Count || ctx.Err() != nil {
					return
				}
				run, err := sweepOne(ctx, s, opts, opts.First+i, metrics)
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					cancel()
					mu.Unlock()
					return
				}
				runs[i] = run
				done++
				if !run.Passed {
					failed++
				}
				if opts.Done != nil {
					opts.Done(done, opts.Count, failed)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := &SweepResult{
		Schema: SweepSchema, Scenario: s.Name, Description: s.Description,
		First: opts.First, Count: opts.Count, Failed: failed, Passed: failed == 0, Runs: runs,
	}
	for _, m := range metrics {
		out.Spread = append(out.Spread, spreadOf(m.Name, runs))
	}
	return out, nil
}

func sweepOne(ctx context.Context, s *scenarios.Scenario, opts SweepOptions, seed uint64, metrics []SweepMetric) (SeedRun, error) {
	sc := *s // a scenario is read-only to a run: a shallow copy with its own seed will do
	sc.Seed = seed
	vo := VirtualOptions{Model: opts.Model}
	if opts.Replay != nil {
		vo.Replay = opts.Replay(seed)
	}
	r, _, err := RunVirtual(ctx, &sc, vo)
	if err != nil {
		return SeedRun{}, fmt.Errorf("seed %d: %w", seed, err)
	}
	run := SeedRun{Seed: seed, Passed: r.Passed, TraceHash: r.TraceHash, Replay: r.Replay,
		Failures: []Assertion{}, Values: make(map[string]float64, len(metrics))}
	for _, a := range r.Assertions {
		if !a.Passed {
			run.Failures = append(run.Failures, a)
		}
	}
	for _, m := range metrics {
		run.Values[m.Name] = round3(m.Value(r))
	}
	return run, nil
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

// Vary runs a sweep for each value; open gives the scenario with the
// setting at that value, and the sweep's options (its replay commands
// name the value).
func Vary(ctx context.Context, path string, values []string, open func(value string) (*scenarios.Scenario, SweepOptions, error)) (*VaryResult, error) {
	if len(values) == 0 {
		return nil, errors.New("sim: nothing to vary")
	}
	out := &VaryResult{Schema: VarySchema, Path: path}
	for _, v := range values {
		s, opts, err := open(v)
		if err != nil {
			return nil, err
		}
		res, err := Sweep(ctx, s, opts)
		if err != nil {
			return nil, fmt.Errorf("%s=%s: %w", path, v, err)
		}
		out.Scenario = s.Name
		out.Values = append(out.Values, VaryValue{Value: v, Sweep: res})
	}
	return out, nil
}
