package sender

import (
	"errors"
	"fmt"
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// Code classifies a domain error by what the caller can do about it (Ben
// Johnson's application error codes). The sender's operations return
// them; only the HTTP handlers turn a code into a status (statusOf), so
// the domain knows nothing of HTTP.
type Code string

const (
	EINVALID     Code = "invalid"     // the request is wrong: fix it
	ENOTFOUND    Code = "not_found"   // no such endpoint or event
	ECONFLICT    Code = "conflict"    // the request clashes with the current state
	EUNAVAILABLE Code = "unavailable" // the sender is stopping or stopped: try another time
	ENOSPACE     Code = "no_space"    // the outbox's disk is full: nothing was kept, retry later
	EINTERNAL    Code = "internal"    // a bug or an unexpected failure
)

// Error is a domain error: a code and a message for the caller.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return e.Message }

func errorf(code Code, format string, args ...any) error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func invalid(format string, args ...any) error  { return errorf(EINVALID, format, args...) }
func notFound(format string, args ...any) error { return errorf(ENOTFOUND, format, args...) }
func conflict(format string, args ...any) error { return errorf(ECONFLICT, format, args...) }

// ErrorCode returns err's code: an *Error's own, ENOSPACE for a full
// disk, EUNAVAILABLE once the sender stops, EINTERNAL otherwise.
func ErrorCode(err error) Code {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return ENOSPACE
	case errors.Is(err, ErrClosed), errors.Is(err, ErrCrashed), errors.Is(err, bolt.ErrDatabaseNotOpen):
		return EUNAVAILABLE
	}
	return EINTERNAL
}

// outboxError gives an outbox write error its code with a message that
// says what happened to the request: on a full disk nothing of it was
// kept, so the caller must retry it.
func outboxError(err error) error {
	switch ErrorCode(err) {
	case "", EINTERNAL:
		return err
	case ENOSPACE:
		return errorf(ENOSPACE, "the outbox's disk is full: nothing of this request was kept; retry it later")
	case EUNAVAILABLE:
		var e *Error
		if errors.As(err, &e) {
			return err
		}
		return errorf(EUNAVAILABLE, "%v", err)
	}
	return err
}
