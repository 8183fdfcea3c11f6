package fault

import (
	"net/http"
	"net/textproto"
	"testing"
)

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
