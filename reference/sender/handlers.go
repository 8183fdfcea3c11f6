package sender

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/hookrig/hookrig/internal/httpapi"
)

// handler adapts a function that returns an error; writeError is the one
// place errors become statuses.
type handler func(w http.ResponseWriter, r *http.Request) error

func (h handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h(w, r); err != nil {
		writeError(w, err)
	}
}

// retryAfterFull is the Retry-After sent with a 507: space is rarely
// freed within seconds, and a client hammering a full disk helps nobody.
const retryAfterFull = "30"

// statusOf maps a domain error's code to its HTTP status. Errors from
// reading the request (httpapi's) carry their own status.
func statusOf(err error) int {
	var ae *httpapi.Error
	if errors.As(err, &ae) {
		return ae.Status
	}
	switch ErrorCode(err) {
	case EINVALID:
		return http.StatusBadRequest
	case ENOTFOUND:
		return http.StatusNotFound
	case ECONFLICT:
		return http.StatusConflict
	case EUNAVAILABLE:
		return http.StatusServiceUnavailable
	case ENOSPACE:
		return http.StatusInsufficientStorage
	}
	return httpapi.StatusOf(err)
}

// writeError answers err with its status; a full disk also says when to
// come back.
func writeError(w http.ResponseWriter, err error) {
	status := statusOf(err)
	if status == http.StatusInsufficientStorage {
		w.Header().Set("Retry-After", retryAfterFull)
	}
	httpapi.WriteJSON(w, status, httpapi.ErrorBody{Error: httpapi.Clip(err.Error(), httpapi.MaxErrorLen)})
}

// endpointView is an endpoint as the API shows it after creation: the
// secret is only returned by POST /v1/endpoints, and a password in a URL
// stored before credentials were refused is masked.
type endpointView struct {
	Endpoint
	Secret string `json:"secret,omitempty"`
	// Delivery is how the sender sends to it now (GET of one endpoint).
	Delivery *EndpointFlow `json:"delivery,omitempty"`
}

func viewEndpoint(ep Endpoint) endpointView {
	if u, err := url.Parse(ep.URL); err == nil {
		ep.URL = u.Redacted()
	}
	return endpointView{Endpoint: ep}
}

// eventView is an event as the API shows it: what an endpoint answered
// (the start of a non-2xx body, a transport error's text) stays in the
// outbox and the logs. Shown, it would let an API caller read services
// the sender can reach and they cannot, or scan ports by error text; the
// status and the error class (refused, timeout, ...) say what happened.
func eventView(e Event) Event {
	attempts := make([]Attempt, len(e.Attempts))
	for i, a := range e.Attempts {
		a.Detail = ""
		attempts[i] = a
	}
	e.Attempts = attempts
	return e
}

func (s *Sender) handleCreateEndpoint() http.Handler {
	type request struct {
		URL    string          `json:"url"`
		Secret string          `json:"secret"`
		Scheme string          `json:"scheme"`
		Policy json.RawMessage `json:"policy"`
	}
	return handler(func(w http.ResponseWriter, r *http.Request) error {
		var req request
		if err := httpapi.DecodeJSON(w, r, s.cfg.MaxBody, &req); err != nil {
			return err
		}
		spec := EndpointSpec{URL: req.URL, Secret: req.Secret, Scheme: req.Scheme}
		if len(req.Policy) > 0 && string(req.Policy) != "null" {
			// Fields left out keep the sender's defaults.
			p := s.cfg.DefaultPolicy
			if err := json.Unmarshal(req.Policy, &p); err != nil {
				return invalid("%v", err)
			}
			spec.Policy = &p
		}
		ep, err := s.CreateEndpoint(spec)
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusCreated, ep)
		return nil
	})
}

func (s *Sender) handleListEndpoints() http.Handler {
	return handler(func(w http.ResponseWriter, r *http.Request) error {
		eps, err := s.Endpoints()
		if err != nil {
			return err
		}
		views := make([]endpointView, len(eps))
		for i, ep := range eps {
			views[i] = viewEndpoint(ep)
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"endpoints": views})
		return nil
	})
}

func (s *Sender) handleGetEndpoint() http.Handler {
	return handler(func(w http.ResponseWriter, r *http.Request) error {
		ep, err := s.Endpoint(mux.Vars(r)["id"])
		if err != nil {
			return err
		}
		v := viewEndpoint(ep)
		if f, ok := s.store.flowOf(ep.ID); ok {
			v.Delivery = &f
		}
		httpapi.WriteJSON(w, http.StatusOK, v)
		return nil
	})
}

func (s *Sender) handleDeleteEndpoint() http.Handler {
	return handler(func(w http.ResponseWriter, r *http.Request) error {
		id := mux.Vars(r)["id"]
		if err := s.DeleteEndpoint(id); err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"id": id, "deleted": true})
		return nil
	})
}

func (s *Sender) handleEnableEndpoint() http.Handler {
	return handler(func(w http.ResponseWriter, r *http.Request) error {
		ep, err := s.EnableEndpoint(mux.Vars(r)["id"])
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, viewEndpoint(ep))
		return nil
	})
}

// handleEnqueue takes one event or {"events": [...]} and answers once
// they are durable.
func (s *Sender) handleEnqueue() http.Handler {
	type request struct { // EventSpec's fields, spelled out so errors name them plainly
		ID       string          `json:"id"`
		Endpoint string          `json:"endpoint"`
		Type     string          `json:"type"`
		Key      string          `json:"key"`
		Payload  json.RawMessage `json:"payload"`
		Events   []EventSpec     `json:"events"`
	}
	return handler(func(w http.ResponseWriter, r *http.Request) error {
		var req request
		if err := httpapi.DecodeJSON(w, r, s.cfg.MaxBody, &req); err != nil {
			return err
		}
		single := EventSpec{ID: req.ID, Endpoint: req.Endpoint, Type: req.Type, Key: req.Key, Payload: req.Payload}
		if req.Events == nil {
			ids, err := s.enqueue([]EventSpec{single}, false)
			if err != nil {
				return err
			}
			httpapi.WriteJSON(w, http.StatusAccepted, map[string]string{"id": ids[0]})
			return nil
		}
		if single.ID != "" || single.Endpoint != "" || single.Type != "" || single.Key != "" || single.Payload != nil {
			return invalid("give one event or {\"events\": [...]}, not both")
		}
		ids, err := s.enqueue(req.Events, true)
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusAccepted, map[string][]string{"ids": ids})
		return nil
	})
}

func (s *Sender) handleGetEvent() http.Handler {
	return handler(func(w http.ResponseWriter, r *http.Request) error {
		e, err := s.Event(mux.Vars(r)["id"])
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, eventView(e))
		return nil
	})
}

// page reads ?after=SEQ&limit=N.
func page(r *http.Request) (after uint64, limit int, err error) {
	q := r.URL.Query()
	limit = 100
	if v := q.Get("after"); v != "" {
		if after, err = strconv.ParseUint(v, 10, 64); err != nil {
			return 0, 0, invalid("after: %q is not a sequence number", v)
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
			return 0, 0, invalid("limit: %q is not a number from 1 to 1000", v)
		}
	}
	return after, limit, nil
}

func (s *Sender) handleListEvents() http.Handler {
	return handler(func(w http.ResponseWriter, r *http.Request) error {
		after, limit, err := page(r)
		if err != nil {
			return err
		}
		events, err := s.EventsPage(after, limit)
		if err != nil {
			return err
		}
		for i := range events {
			events[i] = eventView(events[i])
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"events": events})
		return nil
	})
}

func (s *Sender) handleDLQ() http.Handler {
	return handler(func(w http.ResponseWriter, r *http.Request) error {
		after, limit, err := page(r)
		if err != nil {
			return err
		}
		entries, err := s.DLQ(after, limit)
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"events": entries, "total": s.Stats().DeadLettered})
		return nil
	})
}

// handleReplay replays everything (no body, or {}) or the listed ids.
func (s *Sender) handleReplay() http.Handler {
	type request struct {
		IDs []string `json:"ids"`
	}
	return handler(func(w http.ResponseWriter, r *http.Request) error {
		body, err := httpapi.ReadBody(w, r, s.cfg.MaxBody)
		if err != nil {
			return err
		}
		var req request
		if len(body) > 0 {
			if err := httpapi.Unmarshal(body, &req); err != nil {
				return err
			}
			if req.IDs != nil && len(req.IDs) == 0 {
				return invalid("ids: empty list; leave ids out to replay every dead letter")
			}
		}
		res, err := s.Replay(req.IDs)
		if err != nil {
			return err
		}
		if res.Skipped == nil {
			res.Skipped = []Skipped{}
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"replayed": len(res.IDs), "ids": res.IDs, "skipped": res.Skipped})
		return nil
	})
}

func (s *Sender) handleStats() http.Handler {
	return handler(func(w http.ResponseWriter, r *http.Request) error {
		httpapi.WriteJSON(w, http.StatusOK, s.Stats())
		return nil
	})
}
