package chaos

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/hookrig/hookrig/chaos/fault"
	"github.com/hookrig/hookrig/internal/httpapi"
)

// maxControlBody bounds a rules document sent to the control API.
const maxControlBody = 1 << 20

// rulesBody is the shape of GET and PUT /v1/rules.
type rulesBody struct {
	Rules []fault.RuleSpec `json:"rules"`
}

func (p *Proxy) handleGetRules() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, rulesBody{Rules: p.Rules()})
	})
}

func (p *Proxy) handlePutRules() http.Handler {
	return p.rulesFromBody(http.StatusOK, func(b []byte) error {
		specs, err := fault.ParseRules(b, "request body")
		if err != nil {
			p.metrics.ruleChange(err) // refused before it reached the rules
			return err
		}
		return p.ReplaceRules(specs)
	})
}

func (p *Proxy) handleAddRule() http.Handler {
	return p.rulesFromBody(http.StatusCreated, func(b []byte) error {
		spec, err := fault.ParseRule(b, "request body")
		if err != nil {
			p.metrics.ruleChange(err) // refused before it reached the rules
			return err
		}
		return p.AddRule(spec)
	})
}

// rulesFromBody reads a rules document, hands it to apply and answers
// with the rules in force.
func (p *Proxy) rulesFromBody(status int, apply func([]byte) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := httpapi.ReadBody(w, r, maxControlBody)
		if err != nil {
			httpapi.WriteError(w, err)
			return
		}
		if err := apply(b); err != nil {
			httpapi.WriteError(w, ruleError(err))
			return
		}
		httpapi.WriteJSON(w, status, rulesBody{Rules: p.Rules()})
	})
}

func (p *Proxy) handleDeleteRule() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := p.DeleteRule(mux.Vars(r)["name"]); err != nil {
			httpapi.WriteError(w, ruleError(err))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (p *Proxy) handleReset() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
}

func (p *Proxy) handleStats() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, p.Stats())
	})
}

// attemptsBody is GET /v1/attempts: Next is the since for the next page;
// Missed counts records after since that the ring no longer holds.
type attemptsBody struct {
	Attempts []AttemptRecord `json:"attempts"`
	Next     uint64          `json:"next"`
	Missed   uint64          `json:"missed"`
}

func (p *Proxy) handleAttempts() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		since, err := queryUint(r, "since", 0)
		if err != nil {
			httpapi.WriteError(w, err)
			return
		}
		limit, err := queryUint(r, "limit", 1000)
		if err != nil {
			httpapi.WriteError(w, err)
			return
		}
		recs, missed := p.AttemptsPage(since, int(min(limit, 10000)))
		body := attemptsBody{Attempts: recs, Next: since, Missed: missed}
		if recs == nil {
			body.Attempts = []AttemptRecord{}
		}
		if n := len(recs); n > 0 {
			body.Next = recs[n-1].Seq
		}
		httpapi.WriteJSON(w, http.StatusOK, body)
	})
}

func handleFaults() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, map[string][]string{"faults": fault.Types()})
	})
}

func queryUint(r *http.Request, name string, def uint64) (uint64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, httpapi.Errorf(http.StatusBadRequest, "%s=%q: want a non-negative integer", name, v)
	}
	return n, nil
}

// ruleError maps rule errors to statuses: unknown rule 404, name taken
// 409, anything else about the rules 400.
func ruleError(err error) error {
	status := http.StatusBadRequest
	switch {
	case errors.Is(err, ErrNoSuchRule):
		status = http.StatusNotFound
	case errors.Is(err, ErrRuleExists):
		status = http.StatusConflict
	}
	return httpapi.Errorf(status, "%s", err.Error())
}
