package verdict

import (
	"errors"
	"fmt"
)

// ConformSchema names the Conformance JSON layout (docs/cli/conform.md).
// A change that renames or removes a field bumps the version; adding a
// field does not.
const ConformSchema = "hookrig.conform/v1"

// What a conformance run graded: the user's receiver (hookrig sent to it)
// or the user's sender (hookrig received from it).
const (
	ConformReceiver = "receiver"
	ConformSender   = "sender"
)

// Level is how strongly the Standard Webhooks specification asks for a
// behaviour: a failed MUST fails the run, a failed SHOULD only warns.
type Level string

const (
	Must   Level = "MUST"
	Should Level = "SHOULD"
)

// CheckStatus is the grade of one check.
type CheckStatus string

const (
	CheckPass CheckStatus = "pass"
	CheckFail CheckStatus = "fail" // a MUST check that did not hold
	CheckWarn CheckStatus = "warn" // a SHOULD check that did not hold
	CheckSkip CheckStatus = "skip" // not run: left out, or what it needs is missing
)

// ConformCheck is one graded rule.
type ConformCheck struct {
	// ID is stable across versions (signature.valid, ack.fast, ...), so
	// --only, --skip and CI filters can name it.
	ID       string      `json:"id"`
	Level    Level       `json:"level"`
	Status   CheckStatus `json:"status"`
	Evidence string      `json:"evidence"` // one line: what was sent and what came back
	Spec     string      `json:"spec"`     // the specification's section the rule comes from
}

// Conformance is the report of one `hookrig conform` run.
type Conformance struct {
	Schema string         `json:"schema"`
	Target string         `json:"target"` // ConformReceiver or ConformSender
	URL    string         `json:"url"`
	Checks []ConformCheck `json:"checks"`
	// Passed says no MUST check failed (warnings and skips do not count).
	Passed bool `json:"passed"`
}

// Grade turns whether a check's rule held into its status: a rule that
// did not hold fails a MUST check and warns on a SHOULD one.
func Grade(level Level, held bool) CheckStatus {
	switch {
	case held:
		return CheckPass
	case level == Must:
		return CheckFail
	}
	return CheckWarn
}

// Count tallies the checks by status.
func (c *Conformance) Count(s CheckStatus) int {
	n := 0
	for _, ch := range c.Checks {
		if ch.Status == s {
			n++
		}
	}
	return n
}

// Seal sets Schema and Passed from the checks.
func (c *Conformance) Seal() {
	c.Schema = ConformSchema
	c.Passed = c.Count(CheckFail) == 0
}

// Validate checks a decoded report: its schema, target and statuses.
func (c *Conformance) Validate() error {
	if c.Schema != ConformSchema {
		if c.Schema == "" {
			return fmt.Errorf("not a hookrig conformance report: no \"schema\" field (expected %q)", ConformSchema)
		}
		return fmt.Errorf("schema %q: expected %q", c.Schema, ConformSchema)
	}
	if c.Target != ConformReceiver && c.Target != ConformSender {
		return fmt.Errorf("target %q: expected %q or %q", c.Target, ConformReceiver, ConformSender)
	}
	var errs []error
	for i, ch := range c.Checks {
		switch ch.Status {
		case CheckPass, CheckFail, CheckWarn, CheckSkip:
		default:
			errs = append(errs, fmt.Errorf("checks[%d] (%s): status %q: expected pass, fail, warn or skip", i, ch.ID, ch.Status))
		}
		if ch.Level != Must && ch.Level != Should {
			errs = append(errs, fmt.Errorf("checks[%d] (%s): level %q: expected MUST or SHOULD", i, ch.ID, ch.Level))
		}
	}
	return errors.Join(errs...)
}
