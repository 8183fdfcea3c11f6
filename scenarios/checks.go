package scenarios

import (
	"encoding/json"

	"github.com/hookrig/hookrig/reference/sender"
)

// The parts of a scenario whose schema belongs to another package are
// checked by that package, so a scenario is refused for exactly the
// reasons the component would refuse it at run time.

// checkPacer validates a load phase's pacer spec. TODO(lead): loadgen.ParsePacer.
func checkPacer(spec string) error { return nil }

// checkRule validates one chaos rule. TODO(lead): chaos.Compile.
func checkRule(js json.RawMessage) error { return nil }

// parsePolicy reads a sender policy override onto the sender's defaults,
// exactly as the reference sender's API would.
func parsePolicy(js json.RawMessage) (sender.Policy, error) {
	p := sender.DefaultPolicy()
	if err := json.Unmarshal(js, &p); err != nil {
		return p, err
	}
	return p, p.Validate()
}
