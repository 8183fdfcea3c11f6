// Package apitest holds what the tests of hookrig's HTTP APIs (the
// sender's, the chaos control API) share: one request helper and the
// bounds of what any input may get back.
package apitest

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Request makes one request with the given headers, within 20 s, and
// returns the status and the body.
func Request(t testing.TB, method, url, body string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// MaxErrorAnswer bounds an error answer whatever was sent: a JSON
// envelope around a message of at most httpapi.MaxErrorLen bytes and its
// "…(N bytes)" note.
const MaxErrorAnswer = 640

// ValidMethod is what net/http accepts as a method: a non-empty token.
func ValidMethod(m string) bool {
	return m != "" && strings.Trim(m, "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") == ""
}

// ValidHeaderValue is what can travel in a header: no control bytes but
// tab.
func ValidHeaderValue(v string) bool {
	return strings.IndexFunc(v, func(r rune) bool { return r != '\t' && (r < ' ' || r == 0x7f) }) < 0
}
