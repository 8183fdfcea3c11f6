package echo

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestQuote(t *testing.T) {
	cases := []struct{ in, want string }{
		{"POST", `"POST"`},
		{strings.Repeat("1", 1_000_000), `"` + strings.Repeat("1", maxValue) + `…" (1000000 bytes)`},
		{strings.Repeat("é", 40), `"` + strings.Repeat("é", 32) + `…" (80 bytes)`},
		{"a\x00b", `"a\x00b"`},
	}
	for _, c := range cases {
		if got := Quote(c.in); got != c.want {
			t.Errorf("Quote(%.20q…) = %s, want %s", c.in, got, c.want)
		}
	}
	// A multi-byte character straddling the cut is dropped whole.
	s := strings.Repeat("a", maxValue-1) + "€€"
	if got := Quote(s); !utf8.ValidString(got) || !strings.HasPrefix(got, `"`+strings.Repeat("a", maxValue-1)+`…"`) {
		t.Errorf("Quote split a character: %s", got)
	}
}

func TestValue(t *testing.T) {
	if got := Value("PUT"); got != "PUT" {
		t.Errorf("Value(PUT) = %s", got)
	}
	if got := Value(strings.Repeat("M", 100)); got != Quote(strings.Repeat("M", 100)) {
		t.Errorf("Value(100 bytes) = %s", got)
	}
}

func TestMessage(t *testing.T) {
	if got := Message("short"); got != "short" {
		t.Errorf("Message(short) = %q", got)
	}
	long := "invalid webhook-timestamp: " + strings.Repeat("9", 1_000_000)
	got := Message(long)
	if len(got) > maxMessage+32 || !strings.HasSuffix(got, "… (1000027 bytes)") {
		t.Errorf("Message(1 MB) = %d bytes ending %q", len(got), got[len(got)-30:])
	}
}
