package jsontime

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestDurationRoundTrip(t *testing.T) {
	for _, in := range []string{`"0s"`, `"250ms"`, `"1h30m0s"`, `"-5s"`} {
		var d Duration
		if err := json.Unmarshal([]byte(in), &d); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != in {
			t.Errorf("%s came back as %s", in, out)
		}
	}
	var d Duration
	if err := json.Unmarshal([]byte(`"90s"`), &d); err != nil || d.D() != 90*time.Second || d.String() != "1m30s" {
		t.Errorf(`"90s" read as %v (%v)`, d.D(), err)
	}
}

func TestDurationRefusesWhatItCannotRead(t *testing.T) {
	for in, want := range map[string]string{
		`5`:      "a bare number has no unit",
		`"soon"`: `"soon" is not a duration`,
		`true`:   "is not a duration string",
	} {
		var d Duration
		err := json.Unmarshal([]byte(in), &d)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error containing %q", in, err, want)
		}
	}
}
