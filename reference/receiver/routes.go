package receiver

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/hookrig/hookrig/internal/httpapi"
	"github.com/hookrig/hookrig/internal/metrics"
)

// Limits of GET /v1/receipts. A page stops at maxPageBytes of JSON (but
// holds at least one receipt) whatever its limit: what a client that asks
// and never reads can pin is one page, and Next says where to go on.
const (
	defaultReceiptsLimit = 1000
	maxReceiptsLimit     = 10000
	maxPageBytes         = 1 << 20
)

// Handler serves the receiver: its own API under /v1/ and webhooks on
// every other path, so whatever URL a user configures works.
//
//	GET  /v1/receipts?since=SEQ&limit=N   receipts with seq > SEQ, oldest first
//	GET  /v1/stats                        counters (Stats)
//	GET  /v1/health                       {"status":"ok"} while serving
//	GET  /metrics                         Prometheus metrics (metrics.go)
//	POST /anything/else                   a webhook
func (r *Receiver) Handler() http.Handler {
	api := r.apiHandler()
	// Webhooks skip the router: a prefix test costs nothing, a mux match
	// per request would be the router's whole cost on the hot path.
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if isAPI(req.Method, req.URL.Path) {
			api.ServeHTTP(w, req)
			return
		}
		r.webhook(w, (*stdRequest)(req))
	})
}

// apiHandler serves everything but webhooks: the /v1/ API and /metrics.
func (r *Receiver) apiHandler() http.Handler {
	api := httpapi.NewRouter()
	api.HandleFunc("/v1/receipts", r.handleReceipts).Methods(http.MethodGet)
	api.HandleFunc("/v1/stats", r.handleStats).Methods(http.MethodGet)
	api.HandleFunc("/v1/health", r.handleHealth).Methods(http.MethodGet)
	api.Handle(metrics.Path, r.metricsHandler()).Methods(http.MethodGet)
	return api
}

// isAPI tells the receiver's own API from a webhook: every path under
// /v1/, and a GET of /metrics (a webhook POSTed to /metrics is still a
// webhook).
func isAPI(method, path string) bool {
	return strings.HasPrefix(path, "/v1/") || path == "/v1" ||
		(method == http.MethodGet && path == metrics.Path)
}

// ReceiptsPage is the answer of GET /v1/receipts. Next is the since to ask
// with for the receipts after these.
type ReceiptsPage struct {
	Receipts []Receipt `json:"receipts"`
	Next     uint64    `json:"next"`
}

func (r *Receiver) handleReceipts(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	since, limit := uint64(0), defaultReceiptsLimit
	if s := q.Get("since"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			httpapi.WriteError(w, httpapi.Errorf(http.StatusBadRequest, "since=%q: want a receipt seq (a whole number >= 0)", s))
			return
		}
		since = n
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxReceiptsLimit {
			httpapi.WriteError(w, httpapi.Errorf(http.StatusBadRequest, "limit=%q: want a whole number from 1 to %d", s, maxReceiptsLimit))
			return
		}
		limit = n
	}
	out, err := r.journal.receipts(since, limit)
	if err != nil {
		httpapi.WriteError(w, err)
		return
	}
	writePage(w, out, since)
}

// writePage answers a ReceiptsPage of the receipts in out that fit in
// maxPageBytes, encoded as their journal lines are.
func writePage(w http.ResponseWriter, out []Receipt, since uint64) {
	b := append(make([]byte, 0, 4096), `{"receipts":[`...)
	next := since
	for i := range out {
		n := len(b)
		if i > 0 {
			b = append(b, ',')
		}
		b = out[i].appendJSON(b)
		b = b[:len(b)-1] // the line's newline
		if len(b) > maxPageBytes && i > 0 {
			b = b[:n]
			break
		}
		next = out[i].Seq
	}
	b = append(b, `],"next":`...)
	b = strconv.AppendUint(b, next, 10)
	b = append(b, "}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

func (r *Receiver) handleStats(w http.ResponseWriter, req *http.Request) {
	httpapi.WriteJSON(w, http.StatusOK, r.Stats())
}

func (r *Receiver) handleHealth(w http.ResponseWriter, req *http.Request) {
	r.serving.RLock()
	closed := r.closed
	r.serving.RUnlock()
	if closed {
		httpapi.WriteError(w, httpapi.Errorf(http.StatusServiceUnavailable, "receiver is shutting down"))
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
