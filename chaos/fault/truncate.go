package fault

import (
	"fmt"
	"math/rand/v2"
)

func init() { register("truncate", func() Fault { return new(Truncate) }) }

// Truncate forwards the request, then sends the client the upstream's
// headers and only the first "bytes" bytes of its body (never the whole
// body) before closing the connection.
type Truncate struct {
	Bytes int `json:"bytes,omitempty"` // body bytes that reach the client (default 0)
}

func (*Truncate) Type() string { return "truncate" }

func (t *Truncate) prepare() error {
	if t.Bytes < 0 {
		return fmt.Errorf("bytes must not be negative, got %d", t.Bytes)
	}
	return nil
}

func (t *Truncate) Plan(*rand.Rand) Action {
	a := Pass()
	a.Truncate, a.TruncateAfter = true, t.Bytes
	return a
}
