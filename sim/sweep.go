package sim

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim/verdict"
	"github.com/hookrig/hookrig/sim/virtual"
)

// A sweep runs one scenario in virtual time under many seeds: what one
// evaluating a retry policy wants before shipping it is not one lucky
// run but "did every assertion hold for 200 seeds, and how far do lost,
// duplicates and p99 spread?" — the way simulation-tested systems
// (FoundationDB, TigerBeetle) run thousands of seeds and keep the failing
// ones as replayable cases.

// SweepOptions configure a sweep. Seeds are First, First+1, … First+Count-1.
type SweepOptions struct {
	First, Count uint64
	// Parallel is how many seeds run at once; 0 means GOMAXPROCS. A
	// virtual run's event loop is one goroutine, with its checker and
	// arrival plan beside it taking about a third of a core more, so the
	// default keeps every core busy and a little over. The result does
	// not depend on it.
	Parallel int
	// Model overrides virtual.DefaultModel, as in virtual.Options.
	Model *virtual.Model
	// Done, when set, is called after each seed (from the sweep's
	// goroutines, one call at a time), for progress.
	Done func(done, total uint64, failed int)
}

// Sweep runs s in virtual time once per seed. Only a scenario error or a
// cancelled ctx stops it; failing assertions are in the result, and
// Passed says whether every seed passed.
func Sweep(ctx context.Context, s *scenarios.Scenario, opts SweepOptions) (*verdict.SweepResult, error) {
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

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runs := make([]verdict.SeedRun, opts.Count)
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
				run, err := sweepOne(ctx, s, opts, opts.First+i)
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
	return verdict.NewSweepResult(s.Name, s.Description, opts.First, runs), nil
}

func sweepOne(ctx context.Context, s *scenarios.Scenario, opts SweepOptions, seed uint64) (verdict.SeedRun, error) {
	sc := *s // a scenario is read-only to a run: a shallow copy with its own seed will do
	sc.Seed = seed
	r, _, err := RunVirtual(ctx, &sc, virtual.Options{Model: opts.Model})
	if err != nil {
		return verdict.SeedRun{}, fmt.Errorf("seed %d: %w", seed, err)
	}
	return verdict.NewSeedRun(r), nil
}

// Vary runs a sweep for each value; open gives the scenario with the
// setting at that value, and the sweep's options.
func Vary(ctx context.Context, path string, values []string, open func(value string) (*scenarios.Scenario, SweepOptions, error)) (*verdict.VaryResult, error) {
	if len(values) == 0 {
		return nil, errors.New("sim: nothing to vary")
	}
	out := &verdict.VaryResult{Schema: verdict.VarySchema, Path: path}
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
		out.Values = append(out.Values, verdict.VaryValue{Value: v, Sweep: res})
	}
	return out, nil
}
