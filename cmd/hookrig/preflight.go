package main

import (
	"context"
	"fmt"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/loadgen"
	"github.com/hookrig/hookrig/reference/webhook"
)

// preflight probes the user's endpoint once, before any load, signed as
// the run will sign (signer nil: unsigned) and with the run's headers. An endpoint that is down,
// misspelled or keyed with another secret stops the command within
// seconds with the probe's one line (the caller exits 2); a slow answer is a
// warning. --no-preflight skips it.
func preflight(ctx context.Context, e *env, url string, signer *webhook.Signer, scheme webhook.Scheme, header []loadgen.Header, insecure, quiet bool) error {
	// The webhook-timestamp must be real time for the endpoint to accept
	// it, whatever clock paces the run.
	res, err := loadgen.Probe(ctx, url, loadgen.ProbeConfig{Clock: clock.Real{}, Signer: signer, Scheme: scheme, Header: header, Insecure: insecure})
	if err != nil {
		return err
	}
	if !res.OK() {
		return fmt.Errorf("%s (skip this check with --no-preflight)", res)
	}
	switch {
	case quiet:
	case res.Slow():
		fmt.Fprintf(e.stderr, "hookrig: warning: %s\n", res)
	default:
		fmt.Fprintf(e.stderr, "hookrig: %s\n", res) // which URL the run goes to, and that it answers
	}
	return nil
}
