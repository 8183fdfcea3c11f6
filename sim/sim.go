package sim

import (
	"context"

	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim/live"
	"github.com/hookrig/hookrig/sim/verdict"
	"github.com/hookrig/hookrig/sim/virtual"
)

// Run executes s live (see live.Run) and judges its assertions on the
// result. When ctx is cancelled the result of what ran comes back with
// live.ErrInterrupted, judged too.
func Run(ctx context.Context, s *scenarios.Scenario, opts live.Options) (*verdict.Result, error) {
	res, err := live.Run(ctx, s, opts)
	if res != nil {
		Check(res, s)
	}
	return res, err
}

// RunVirtual executes s in virtual time (see virtual.Run) and judges its
// assertions on the result.
func RunVirtual(ctx context.Context, s *scenarios.Scenario, opts virtual.Options) (*verdict.Result, virtual.Stats, error) {
	res, st, err := virtual.Run(ctx, s, opts)
	if err != nil {
		return nil, st, err
	}
	Check(res, s)
	return res, st, nil
}
