package schedslice

import (
	"strings"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		slice time.Duration
		ok    bool
	}{
		{0, true},
		{Min, true},
		{time.Millisecond, true},
		{Max, true},
		{Min - 1, false},
		{Max + 1, false},
		{-time.Millisecond, false},
	} {
		err := Check(tc.slice)
		if (err == nil) != tc.ok {
			t.Errorf("Check(%v) = %v, want ok %v", tc.slice, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), tc.slice.String()) {
			t.Errorf("Check(%v) = %q: does not name the value", tc.slice, err)
		}
	}
	if err := Set(Min / 2); err == nil {
		t.Error("Set took a slice under the kernel's minimum")
	}
}
