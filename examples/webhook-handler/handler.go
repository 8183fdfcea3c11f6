// Package orders is a tiny webhook endpoint, the kind hookrig tests: it
// receives "order.paid" webhooks signed the Standard Webhooks way,
// verifies each, records the order once however often it is delivered,
// and answers 2xx only once the order is recorded.
package orders

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/hookrig/hookrig/reference/webhook"
)

// Handler receives order webhooks.
type Handler struct {
	verify *webhook.Verifier

	mu   sync.Mutex
	paid map[string]int // order id -> amount, recorded once per webhook-id
	seen map[string]bool
}

// New returns a handler that verifies with secret ("whsec_...").
func New(secret string) (*Handler, error) {
	v, err := webhook.NewVerifier(5*time.Minute, secret)
	if err != nil {
		return nil, err
	}
	return &Handler{verify: v, paid: map[string]int{}, seen: map[string]bool{}}, nil
}

// ServeHTTP verifies, dedupes by webhook-id, records, then answers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "reading the body", http.StatusBadRequest)
		return
	}
	if err := h.verify.Verify(r.Header, body, time.Now()); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var order struct {
		ID     string `json:"id"`
		Amount int    `json:"amount"`
	}
	if err := json.Unmarshal(body, &order); err != nil {
		http.Error(w, "expected a JSON order", http.StatusBadRequest)
		return
	}
	id := r.Header.Get(webhook.HeaderID)
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.seen[id] { // a retry of a webhook already recorded is acknowledged again, not recorded twice
		h.seen[id] = true
		h.paid[order.ID] += order.Amount
	}
	w.WriteHeader(http.StatusNoContent)
}

// Paid returns the amount recorded for an order.
func (h *Handler) Paid(order string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.paid[order]
}

// Webhooks returns how many distinct webhooks were recorded.
func (h *Handler) Webhooks() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.seen)
}
