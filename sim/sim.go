package sim

import (
	"context"
	"fmt"

	"github.com/hookrig/hookrig/reference/sender"
	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim/live"
	"github.com/hookrig/hookrig/sim/verdict"
	"github.com/hookrig/hookrig/sim/virtual"
)

// MaxLiveEndpoints is the largest fleet Run takes live: each endpoint is
// a registered sender endpoint with its own timers and buckets, one
// receiver path and the proxy's rules; the live fleets are 1,000
// endpoints. Larger fleets (fleet-day's 10,000) are for virtual time.
const MaxLiveEndpoints = 2000

// Run executes s live (see live.Run) and judges its assertions on the
// result. When ctx is cancelled the result of what ran comes back with
// live.ErrInterrupted, judged too.
func Run(ctx context.Context, s *scenarios.Scenario, opts live.Options) (*verdict.Result, error) {
	if s != nil && s.Endpoints.Size() > MaxLiveEndpoints {
		return nil, fmt.Errorf("sim: scenario %s has %d endpoints, more than a live run serves on one machine (%d): simulate it in virtual time with hookrig sim %s",
			s.Name, s.Endpoints.Size(), MaxLiveEndpoints, s.Name)
	}
	res, err := live.Run(ctx, s, opts)
	if res != nil {
		Check(res, s)
	}
	return res, err
}

// RunVirtual executes s in virtual time (see virtual.Run) and judges its
// assertions on the result. A fleet with sick groups (faults or a rate
// limit) and healthy ones is simulated twice, at once: as written, and
// with the sick groups healed (scenarios.Scenario.Healed: the very same
// events, no faults, no rate limits), whose healthy groups' delivery p99
// is the isolation baseline (Result.Isolation). Stats are the run's as
// written.
func RunVirtual(ctx context.Context, s *scenarios.Scenario, opts virtual.Options) (*verdict.Result, virtual.Stats, error) {
	// Instances (sender.instances, receiver.instances) are modelled as
	// one sender and one receiver; the note says what that leaves out.
	s, oneSender := s.AsOneSender(sender.DefaultWorkers)
	base := s.Healed()
	var bres *verdict.Result
	var berr error
	done := make(chan struct{})
	if base != nil {
		// The two worlds share nothing: the baseline runs alongside.
		bopts := opts
		bopts.Progress = nil
		go func() {
			defer close(done)
			bres, _, berr = virtual.Run(ctx, base, bopts)
		}()
	}
	res, st, err := virtual.Run(ctx, s, opts)
	if base != nil {
		<-done
	}
	if err != nil {
		return nil, st, err
	}
	if base != nil {
		if berr != nil {
			return nil, st, fmt.Errorf("isolation baseline (the scenario with its sick groups healed): %w", berr)
		}
		res.SetIsolationBaseline(bres)
		if iso := res.Isolation; iso != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("isolation baseline: the same events, simulated again with the sick groups healed (no faults, no rate limits): the healthy groups' delivery p99 was %.4g ms there, %.4g ms here",
				iso.BaselineP99Ms, iso.P99Ms))
		}
	}
	if oneSender != "" {
		res.Notes = append(res.Notes, oneSender)
	}
	Check(res, s)
	return res, st, nil
}
