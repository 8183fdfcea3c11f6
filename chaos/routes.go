package chaos

import (
	"crypto/subtle"
	"net/http"

	"github.com/hookrig/hookrig/internal/httpapi"
)

// ControlHandler is the control API, for people and scripts steering the
// proxy while it runs:
//
//	GET    /v1/rules              {"rules": [...]}, in order
//	PUT    /v1/rules              replace all: body {"rules": [...]} (JSON or YAML)
//	POST   /v1/rules              add one rule at the end: body is the rule
//	DELETE /v1/rules/{name}       remove one rule
//	POST   /v1/reset              no rules, zero stats, empty attempt log, elapsed 0
//	GET    /v1/stats              Stats
//	GET    /v1/attempts?since=N&limit=M  records with seq > N
//	GET    /v1/faults             the fault types
//
// A bad rule is a 400 naming it, and the rules in force stay as they were.
// With Config.ControlToken set, every route wants "Authorization: Bearer
// <token>". It never touches the data path's locks, so it answers under
// full load.
func (p *Proxy) ControlHandler() http.Handler {
	r := httpapi.NewRouter()
	r.Handle("/v1/rules", p.handleGetRules()).Methods(http.MethodGet)
	r.Handle("/v1/rules", p.handlePutRules()).Methods(http.MethodPut)
	r.Handle("/v1/rules", p.handleAddRule()).Methods(http.MethodPost)
	r.Handle("/v1/rules/{name}", p.handleDeleteRule()).Methods(http.MethodDelete)
	r.Handle("/v1/reset", p.handleReset()).Methods(http.MethodPost)
	r.Handle("/v1/stats", p.handleStats()).Methods(http.MethodGet)
	r.Handle("/v1/attempts", p.handleAttempts()).Methods(http.MethodGet)
	r.Handle("/v1/faults", handleFaults()).Methods(http.MethodGet)
	// Wrapped around the router, not r.Use: mux middleware does not run
	// on 404/405, and those must not answer without the token either.
	return requireToken(p.cfg.ControlToken, r)
}

func requireToken(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hookrig chaos"`)
			httpapi.WriteError(w, httpapi.Errorf(http.StatusUnauthorized, "missing or wrong bearer token: send Authorization: Bearer <control token>"))
			return
		}
		next.ServeHTTP(w, r)
	})
}
