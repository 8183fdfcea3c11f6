package hookrigtest

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// serve serves h on 127.0.0.1 until the end of the test, then stops the
// server and, after it, closes the component h belongs to. It returns
// the server's URL.
func serve(t testing.TB, h http.Handler, closeComponent func() error) string {
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		_ = closeComponent()
	})
	return srv.URL
}
