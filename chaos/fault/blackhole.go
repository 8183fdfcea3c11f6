package fault

import (
	"math/rand/v2"
	"time"
)

func init() { register("blackhole", func() Fault { return new(Blackhole) }) }

// defaultMaxHold bounds a silence when the rule does not say: long enough
// to outlast any sensible webhook timeout, short enough not to hoard
// connections for ever.
const defaultMaxHold = 30 * time.Second

// Blackhole reads the request and never answers: the client waits until
// its own timeout. The proxy lets go after "max" (default 30s) by closing
// the connection. The upstream never sees the request.
type Blackhole struct {
	Max Duration `json:"max,omitempty"` // when the proxy closes the connection (default 30s)
}

func (*Blackhole) Type() string { return "blackhole" }

func (b *Blackhole) prepare() error {
	if b.Max == 0 {
		b.Max = Duration(defaultMaxHold)
	}
	return nil
}

func (b *Blackhole) Plan(*rand.Rand) Action {
	return Action{Answer: AnswerSilence, MaxHold: b.Max.D()}
}
