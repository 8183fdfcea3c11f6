package plan

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hookrig/hookrig/loadgen"
	"github.com/hookrig/hookrig/scenarios"
)

// LoadPacer turns a scenario's load phases into one pacer, with idle
// stretches where a phase starts after the previous one ended. Each
// phase's random pacer (poisson) is seeded from the scenario's seed and
// the phase's position, so the arrivals are the same in every run of the
// seed, live or virtual (loadgen.Arrivals replays them without a clock).
func LoadPacer(s *scenarios.Scenario) (*loadgen.SequencePacer, error) {
	phases := make([]loadgen.Phase, 0, len(s.Load.Phases))
	var at time.Duration
	for i, p := range s.Load.Phases {
		if p.Start > at {
			phases = append(phases, loadgen.Phase{Pacer: loadgen.Constant(0), Duration: p.Start - at})
		}
		pc, err := loadgen.ParsePacer(p.Pacer, p.Duration, rand.New(rand.NewPCG(s.Seed, uint64(i)+1)))
		if err != nil {
			return nil, fmt.Errorf("load phase %s: %w", p.Name, err)
		}
		phases = append(phases, loadgen.Phase{Pacer: pc, Duration: p.Duration})
		at = p.End()
	}
	if len(phases) == 0 {
		return nil, fmt.Errorf("scenario %s has no load phases", s.Name)
	}
	return loadgen.Sequence(phases...), nil
}
