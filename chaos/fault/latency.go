package fault

import (
	"fmt"
	"math/rand/v2"
)

func init() { register("latency", func() Fault { return new(Latency) }) }

// Latency delays a request before it is forwarded ("apply": "request", the
// default) or delays the upstream's answer on its way back ("apply":
// "response"), by a fixed or drawn Delay.
//
//	{"type": "latency", "distribution": "lognormal", "median": "200ms", "sigma": 0.5}
type Latency struct {
	Delay
	Apply string `json:"apply,omitempty"` // "request" (default): hold before forwarding; "response": delay the answer
}

func (*Latency) Type() string { return "latency" }

func (l *Latency) prepare() error {
	if l.Apply != "" && l.Apply != "request" && l.Apply != "response" {
		return fmt.Errorf(`apply must be "request" or "response", got %q`, l.Apply)
	}
	return l.Delay.validate()
}

func (l *Latency) Plan(rnd *rand.Rand) Action {
	a := Pass()
	if l.Apply == "response" {
		a.Delay = l.Draw(rnd)
	} else {
		a.Hold = l.Draw(rnd)
	}
	return a
}
