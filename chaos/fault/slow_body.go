package fault

import (
	"fmt"
	"math/rand/v2"
)

func init() { register("slow_body", func() Fault { return new(SlowBody) }) }

// SlowBody forwards the request and sends the upstream's response body to
// the client at "rate" bytes per second.
type SlowBody struct {
	Rate int `json:"rate"` // body bytes per second, required
}

func (*SlowBody) Type() string { return "slow_body" }

func (s *SlowBody) prepare() error {
	if s.Rate <= 0 {
		return fmt.Errorf("rate must be a positive number of bytes per second, got %d", s.Rate)
	}
	return nil
}

func (s *SlowBody) Plan(*rand.Rand) Action {
	a := Pass()
	a.BodyRate = s.Rate
	return a
}
