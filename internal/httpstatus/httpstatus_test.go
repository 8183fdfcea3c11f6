package httpstatus

import (
	"net/http"
	"testing"
)

// Text is written out so that pure packages link no networking code; it
// must say what net/http says, for every code.
func TestTextIsNetHTTPs(t *testing.T) {
	for code := 0; code < 1000; code++ {
		if got, want := Text(code), http.StatusText(code); got != want {
			t.Errorf("Text(%d) = %q, net/http says %q", code, got, want)
		}
	}
}
