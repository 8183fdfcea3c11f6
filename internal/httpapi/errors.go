// Package httpapi holds what every hookrig HTTP API shares: JSON in and
// out, one error type with one mapping to a status, and a graceful server
// loop bound to loopback by default.
package httpapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/hookrig/hookrig/internal/echo"
)

// Error is an API error that knows its HTTP status. Handlers return it;
// WriteError is the one place that turns errors into responses.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// Errorf builds an *Error with a formatted message.
func Errorf(status int, format string, args ...any) error {
	return &Error{Status: status, Msg: fmt.Sprintf(format, args...)}
}

// StatusOf returns the HTTP status for err: an *Error's own status, 413 for
// a body over the limit, 500 for anything else.
func StatusOf(err error) int {
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Status
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

// MaxErrorLen bounds an error answer's message: messages quote what the
// client sent (a method, a path, a field), and an answer must not grow
// with it.
const MaxErrorLen = 512

// WriteError answers {"error": "..."} with err's status, the message
// clipped to MaxErrorLen.
func WriteError(w http.ResponseWriter, err error) {
	WriteJSON(w, StatusOf(err), ErrorBody{Error: Clip(err.Error(), MaxErrorLen)})
}

// ErrorBody is the JSON shape of every error answer.
type ErrorBody struct {
	Error string `json:"error"`
}

// notFound and methodNotAllowed answer in the same JSON shape as every
// other error (gorilla/mux's defaults answer in plain text). The method
// and path are echoed bounded (echo.Value): a 60 KB method gets a small
// answer.
func notFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, Errorf(http.StatusNotFound, "no such route: %s %s", echo.Value(r.Method), echo.Value(r.URL.Path)))
	})
}

// methodNotAllowed answers 405 in JSON.
func methodNotAllowed() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, Errorf(http.StatusMethodNotAllowed, "method %s not allowed on %s", echo.Value(r.Method), echo.Value(r.URL.Path)))
	})
}
