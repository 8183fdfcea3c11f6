package fault

import "math/rand/v2"

func init() { register("down", func() Fault { return new(Down) }) }

// Down makes the endpoint look switched off for the rule's window: the
// proxy's listener closes, so connecting is refused, and reopens when the
// window ends. It acts before any request is read, so a down rule takes no
// match and no probability, only after/for.
type Down struct{}

func (*Down) Type() string { return "down" }

func (*Down) Plan(*rand.Rand) Action { return Action{Answer: AnswerRefuse} }
