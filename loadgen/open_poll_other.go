//go:build !linux

package loadgen

import "context"

// newPollLoop: the poll loop is Linux's; elsewhere the portable loop runs.
func newPollLoop(context.Context, *Runner) dispatcher { return nil }
