// Package jsontime writes durations in JSON as Go duration strings
// ("250ms", "1h30m"), so policies, rule files, control APIs and reports
// read the same and a bare number is never mistaken for seconds or
// nanoseconds. It knows nothing of what the durations mean: a negative
// one is read as written, and the owner's validation says whether it
// makes sense there.
package jsontime

import (
	"fmt"
	"strconv"
	"time"
)

// Duration is a time.Duration that is a string in JSON and YAML.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d like time.Duration ("1h30m0s").
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes the duration as "1h30m0s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration (want e.g. \"500ms\", \"5s\", \"1h30m\")", b)
	}
	*d = Duration(v)
	return nil
}

// UnmarshalJSON insists on a string: a bare number is ambiguous (seconds?
// nanoseconds?) and is refused with an explanation.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] != '"' {
		return fmt.Errorf("%s is not a duration string (want e.g. \"5s\"; a bare number has no unit)", b)
	}
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return fmt.Errorf("%s is not a duration string", b)
	}
	return d.UnmarshalText([]byte(s))
}
