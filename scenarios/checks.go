package scenarios

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/hookrig/hookrig/chaos/fault"
	"github.com/hookrig/hookrig/loadgen"
	"github.com/hookrig/hookrig/reference/sender/delivery"
)

// The parts of a scenario whose schema belongs to another package are
// checked by that package, so a scenario is refused for exactly the
// reasons the component would refuse it at run time.

// checkPacer validates a load phase's pacer spec with loadgen's parser.
func checkPacer(spec string, over time.Duration) error {
	_, err := loadgen.ParsePacer(spec, over, rand.New(rand.NewPCG(1, 1)))
	return err
}

// ruleSpec decodes and compiles one chaos rule, as the proxy would.
func ruleSpec(js json.RawMessage) (fault.RuleSpec, error) {
	spec, err := fault.ParseRule(js, "")
	if err != nil {
		return spec, err
	}
	spec.Pos = "" // the scenario's error carries the file position
	if _, err = fault.Compile([]fault.RuleSpec{spec}); err != nil {
		// The scenario's message already names the rule.
		var re *fault.RuleError
		if errors.As(err, &re) {
			return spec, re.Err
		}
	}
	return spec, err
}

// parsePolicy reads a sender policy override onto the sender's defaults,
// exactly as the reference sender's API would.
func parsePolicy(js json.RawMessage) (delivery.Policy, error) {
	p := delivery.DefaultPolicy()
	if err := json.Unmarshal(js, &p); err != nil {
		return p, err
	}
	return p, p.Validate()
}
