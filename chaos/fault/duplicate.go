package fault

import (
	"fmt"
	"math/rand/v2"
)

func init() { register("duplicate", func() Fault { return new(Duplicate) }) }

// maxCopies keeps a typo from turning one request into a flood.
const maxCopies = 100

// Duplicate forwards the same request "copies" times (default 2), each
// copy "gap" after the previous one finished, and answers the client with
// the first copy's response as soon as it arrives.
type Duplicate struct {
	Copies int      `json:"copies,omitempty"` // how many times the upstream gets the request, 2 to 100 (default 2)
	Gap    Duration `json:"gap,omitempty"`    // the wait between one copy's answer and the next copy (default 0)
}

func (*Duplicate) Type() string { return "duplicate" }

func (d *Duplicate) prepare() error {
	if d.Copies == 0 {
		d.Copies = 2
	}
	if d.Copies < 2 || d.Copies > maxCopies {
		return fmt.Errorf("copies must be from 2 to %d, got %d", maxCopies, d.Copies)
	}
	return nil
}

func (d *Duplicate) Plan(*rand.Rand) Action {
	return Action{Forward: d.Copies, CopyGap: d.Gap.D()}
}
