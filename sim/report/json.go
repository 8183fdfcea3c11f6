package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/hookrig/hookrig/internal/httpapi"
	"github.com/hookrig/hookrig/sim/verdict"
)

// WriteJSON writes r in the documented schema (docs/result-schema.md),
// indented, with a final newline. The same Result always gives the same
// bytes.
func WriteJSON(w io.Writer, r *verdict.Result) error { return writeIndented(w, r, "result") }

// writeIndented writes v as indented JSON with a final newline; what names
// it in an error.
func writeIndented(w io.Writer, v any, what string) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the %s: %w", what, err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// ReadJSON decodes a saved result strictly (unknown fields and trailing
// data are errors, positions are given as line and column) and checks
// its schema version and histograms; name labels the errors.
func ReadJSON(data []byte, name string) (*verdict.Result, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%s: empty file: expected a hookrig result in JSON", name)
	}
	var r verdict.Result
	if err := httpapi.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return &r, nil
}
