package fault

import "math/rand/v2"

func init() { register("reorder", func() Fault { return new(Reorder) }) }

// Reorder holds a matching request for a drawn Delay before forwarding it,
// so requests that arrive later overtake it (the upstream sees them
// first).
//
//	{"type": "reorder", "distribution": "uniform", "min": "100ms", "max": "1s"}
type Reorder struct {
	Delay
}

func (*Reorder) Type() string { return "reorder" }

func (r *Reorder) prepare() error { return r.Delay.validate() }

func (r *Reorder) Plan(rnd *rand.Rand) Action {
	a := Pass()
	a.Hold = r.Draw(rnd)
	return a
}
