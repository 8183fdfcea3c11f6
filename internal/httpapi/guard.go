package httpapi

import (
	"crypto/subtle"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Guards for an API that may be reached from a browser on the same
// machine or, when it listens beyond loopback, from the network: a bearer
// token, JSON bodies only (a web page can post text/plain or a form to any
// address without asking first, but not application/json), and no
// request from a foreign web origin.

// RequireBearer answers 401 unless the request carries "Authorization:
// Bearer <token>" (the scheme in any case, RFC 9110 §11.1). An empty token
// lets every request through.
func RequireBearer(token, realm string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, got, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`"`)
			WriteError(w, Errorf(http.StatusUnauthorized, "missing or wrong bearer token: send Authorization: Bearer <token>"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// RequireJSON answers 415 to a request with a body whose Content-Type is
// not one of types (application/json when none are given), and 403 to a
// request sent by a web page of another origin (Origin or
// Sec-Fetch-Site say so). Requests without a body pass the type check.
func RequireJSON(next http.Handler, types ...string) http.Handler {
	if len(types) == 0 {
		types = []string{"application/json"}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if foreignOrigin(r) {
			WriteError(w, Errorf(http.StatusForbidden, "cross-origin request refused: this API does not serve web pages of other origins"))
			return
		}
		if r.ContentLength != 0 || r.Header.Get("Content-Type") != "" {
			mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
			ok := false
			for _, t := range types {
				ok = ok || (err == nil && mt == t)
			}
			if !ok {
				WriteError(w, Errorf(http.StatusUnsupportedMediaType, "Content-Type %q: want %s",
					Clip(r.Header.Get("Content-Type"), 64), strings.Join(types, " or ")))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// foreignOrigin reports a request a browser sent for a page whose origin
// is not the API's own host.
func foreignOrigin(r *http.Request) bool {
	if s := r.Header.Get("Sec-Fetch-Site"); s == "cross-site" || s == "same-site" {
		return true
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return false
	}
	u, err := url.Parse(o)
	return err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host)
}

// Clip shortens an echoed value to at most n bytes and says how long it
// was, so an answer never grows with what a client sent.
func Clip(s string, n int) string {
	if len(s) <= n {
		return strings.ToValidUTF8(s, "?")
	}
	return strings.ToValidUTF8(s[:n], "?") + "…(" + strconv.Itoa(len(s)) + " bytes)"
}

// Exposed reports whether a listener is reachable beyond loopback.
func Exposed(addr net.Addr) bool {
	ta, ok := addr.(*net.TCPAddr)
	return !ok || !ta.IP.IsLoopback()
}
