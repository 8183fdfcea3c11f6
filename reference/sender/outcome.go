package sender

import (
	"github.com/hookrig/hookrig/internal/neterr"
	"github.com/hookrig/hookrig/reference/sender/delivery"
)

// ClassifyError maps a transport error to the attempt's ErrKind, through
// internal/neterr's words (the load generator's report uses the same).
// timedOut says whether the attempt's own timeout fired: the error is then
// a context cancellation, which alone cannot tell a timeout from a
// shutdown. TLS and cancellation are "other" to the policy, which needs
// only tell the kinds it treats differently apart.
func ClassifyError(err error, timedOut bool) delivery.ErrKind {
	switch {
	case err == nil:
		return delivery.ErrNone
	case timedOut:
		return delivery.ErrTimeout
	}
	switch neterr.Classify(err) {
	case neterr.Timeout:
		return delivery.ErrTimeout
	case neterr.Refused:
		return delivery.ErrRefused
	case neterr.Reset:
		return delivery.ErrReset
	case neterr.EOF:
		return delivery.ErrEOF
	}
	return delivery.ErrOther
}
