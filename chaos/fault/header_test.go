package fault

import (
	"net/http"
	"net/textproto"
	"testing"
)

// statusText is written out so that the catalogue links no networking
// code; it must say what net/http says.
func TestStatusTextIsNetHTTPs(t *testing.T) {
	for code := 200; code < 600; code++ {
		if got, want := statusText(code), http.StatusText(code); got != want {
			t.Errorf("statusText(%d) = %q, net/http says %q", code, got, want)
		}
	}
}

func TestCanonicalKeyIsTextprotos(t *testing.T) {
	for _, k := range []string{"retry-after", "Retry-After", "RETRY-AFTER", "content-type", "x-a-b", "x", "-x-", "a--b", "webhook-id", "X_Y", "foo bar", "é", "1ab-cd", ""} {
		if got, want := canonicalKey(k), textproto.CanonicalMIMEHeaderKey(k); got != want {
			t.Errorf("canonicalKey(%q) = %q, textproto says %q", k, got, want)
		}
	}
	h := Header{}
	h.Set("retry-after", "2")
	if h.Get("RETRY-AFTER") != "2" || http.Header(h).Get("Retry-After") != "2" {
		t.Errorf("Header %v: want Retry-After 2 under its canonical key", h)
	}
}
