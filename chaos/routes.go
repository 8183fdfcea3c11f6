package chaos

import (
	"net/http"

	"github.com/hookrig/hookrig/internal/httpapi"
	"github.com/hookrig/hookrig/internal/metrics"
	"github.com/hookrig/hookrig/reference/webhook"
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
//	GET    /metrics               Prometheus metrics (metrics.go)
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
	r.Handle(metrics.Path, p.handleMetrics()).Methods(http.MethodGet)
	// Wrapped around the router, not r.Use: mux middleware does not run
	// on 404/405, and those must not answer without the token either.
	// JSON (or YAML) bodies only and no foreign Origin, so a web page
	// cannot post rules; no webhook either, so a sender whose endpoint
	// points here cannot inject them.
	return httpapi.RequireBearer(p.cfg.ControlToken, "hookrig chaos",
		refuseWebhooks(httpapi.RequireJSON(r, controlTypes...)))
}

// controlTypes are the bodies the control API reads: rules in JSON or
// YAML. None is a type a web page may post without asking first.
var controlTypes = []string{"application/json", "application/yaml", "application/x-yaml", "text/yaml"}

// refuseWebhooks answers 403 to a signed webhook: a sender whose endpoint
// URL names the control API (by mistake or by an attacker's choice) must
// not steer the proxy with its payloads.
func refuseWebhooks(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(webhook.HeaderID) != "" || r.Header.Get(webhook.HeaderSignature) != "" {
			httpapi.WriteError(w, httpapi.Errorf(http.StatusForbidden, "a webhook is not a control request: point the sender at the proxy's listen address, not its control API"))
			return
		}
		next.ServeHTTP(w, r)
	})
}
