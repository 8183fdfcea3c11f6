package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/hookrig/hookrig/sim/verdict"
)

// Format is an output format.
type Format string

// The formats Render knows.
const (
	Text  Format = "text"
	JSON  Format = "json"
	JUnit Format = "junit"
	HTML  Format = "html"
)

// Formats lists every format, in the order help texts show them.
func Formats() []Format { return []Format{Text, JSON, JUnit, HTML} }

// ParseFormat checks a format name given by a user.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats() {
		if string(f) == s {
			return f, nil
		}
	}
	names := make([]string, 0, 4)
	for _, f := range Formats() {
		names = append(names, string(f))
	}
	return "", fmt.Errorf("unknown report format %q (expected one of %s)", s, strings.Join(names, ", "))
}

// Render writes r to w in format f.
func Render(w io.Writer, r *verdict.Result, f Format) error {
	switch f {
	case Text:
		return WriteText(w, r)
	case JSON:
		return WriteJSON(w, r)
	case JUnit:
		return WriteJUnit(w, r)
	case HTML:
		return WriteHTML(w, r)
	}
	_, err := ParseFormat(string(f))
	return err
}
