package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"

	"github.com/hookrig/hookrig/internal/strictjson"
)

// WriteJSON answers v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(ErrorBody{Error: "encoding response: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// ReadBody reads the whole request body, refusing more than limit bytes
// with a 413 *Error.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, Errorf(http.StatusRequestEntityTooLarge, "body of %d bytes is over the limit of %d bytes", r.ContentLength, limit)
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, Errorf(http.StatusRequestEntityTooLarge, "body is over the limit of %d bytes", limit)
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, Errorf(http.StatusRequestTimeout, "the body stopped arriving: %d bytes read before the server's read timeout", len(b))
		}
		return nil, Errorf(http.StatusBadRequest, "reading body: %v", err)
	}
	return b, nil
}

// DecodeJSON reads a JSON body of at most limit bytes into v, refusing
// unknown fields. Errors are *Error values that say where the JSON went
// wrong and what was expected.
func DecodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	b, err := ReadBody(w, r, limit)
	if err != nil {
		return err
	}
	return Unmarshal(b, v)
}

// Unmarshal decodes b into v strictly (unknown fields, trailing data and
// type mismatches are errors) and explains what was wrong as a 400 *Error.
func Unmarshal(b []byte, v any) error {
	if err := strictjson.Unmarshal(b, v); err != nil {
		return Errorf(http.StatusBadRequest, "%s", err)
	}
	return nil
}
