package scenarios

import "encoding/json"

// The parts of a scenario whose schema belongs to another package are
// checked by that package, so a scenario is refused for exactly the
// reasons the component would refuse it at run time.

// checkPacer validates a load phase's pacer spec. TODO(lead): loadgen.ParsePacer.
func checkPacer(spec string) error { return nil }

// checkRule validates one chaos rule. TODO(lead): chaos.Compile.
func checkRule(js json.RawMessage) error { return nil }

// checkPolicy validates a sender policy override. TODO(lead): sender.Policy.
func checkPolicy(js json.RawMessage) error { return nil }
