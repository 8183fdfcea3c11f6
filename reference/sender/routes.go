package sender

import (
	"net/http"

	"github.com/hookrig/hookrig/internal/httpapi"
	"github.com/hookrig/hookrig/internal/metrics"
)

// routes is the whole HTTP API.
func (s *Sender) routes() http.Handler {
	r := httpapi.NewRouter()

	r.Handle("/v1/endpoints", s.handleCreateEndpoint()).Methods(http.MethodPost)
	r.Handle("/v1/endpoints", s.handleListEndpoints()).Methods(http.MethodGet)
	r.Handle("/v1/endpoints/{id}", s.handleGetEndpoint()).Methods(http.MethodGet)
	r.Handle("/v1/endpoints/{id}", s.handleDeleteEndpoint()).Methods(http.MethodDelete)
	r.Handle("/v1/endpoints/{id}/enable", s.handleEnableEndpoint()).Methods(http.MethodPost)

	r.Handle("/v1/events", s.handleEnqueue()).Methods(http.MethodPost)
	r.Handle("/v1/events", s.handleListEvents()).Methods(http.MethodGet)
	r.Handle("/v1/events/{id:.+}", s.handleGetEvent()).Methods(http.MethodGet)

	r.Handle("/v1/dlq", s.handleDLQ()).Methods(http.MethodGet)
	r.Handle("/v1/dlq/replay", s.handleReplay()).Methods(http.MethodPost)

	r.Handle("/v1/stats", s.handleStats()).Methods(http.MethodGet)
	r.Handle(metrics.Path, s.metricsHandler()).Methods(http.MethodGet) // metrics.go
	// Around the router, not r.Use: 404 and 405 need the token too. JSON
	// bodies only and no foreign Origin, so a web page open in a browser
	// on the sender's host cannot post to it.
	return httpapi.RequireBearer(s.cfg.APIToken, "hookrig sender", httpapi.RequireJSON(r))
}
