package fault

import (
	"fmt"
	"math/rand/v2"
)

func init() { register("reset", func() Fault { return new(Reset) }) }

// Reset closes the client's connection with a TCP RST (linger 0): before
// forwarding ("when": "before", the default; the upstream never sees the
// request) or after the upstream answered ("when": "after").
type Reset struct {
	When string `json:"when,omitempty"` // "before" (default): the upstream never sees the request; "after": reset once it answered
}

func (*Reset) Type() string { return "reset" }

func (r *Reset) prepare() error {
	if r.When != "" && r.When != "before" && r.When != "after" {
		return fmt.Errorf(`when must be "before" or "after", got %q`, r.When)
	}
	return nil
}

func (r *Reset) Plan(*rand.Rand) Action {
	a := Action{Answer: AnswerReset}
	if r.When == "after" {
		a.Forward = 1
	}
	return a
}
