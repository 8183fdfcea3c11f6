package fault

import (
	"math/rand/v2"
	"strconv"

	"github.com/hookrig/hookrig/reference/webhook"
)

// Request is what a rule can see of one HTTP request.
type Request struct {
	Method string
	Path   string
	Header Headers // nil: no header fields
	Body   []byte
	// EventID is the webhook-id header ("" when absent).
	EventID string
	// Attempt is the webhook-attempt header (0 when absent or not a
	// positive integer).
	Attempt int
}

// newRequest builds a Request from its parts, reading EventID and Attempt
// from the Standard Webhooks headers the same way the proxy does.
func newRequest(method, path string, h Headers, body []byte) Request {
	r := Request{Method: method, Path: path, Header: h, Body: body}
	r.EventID = r.HeaderValue(webhook.HeaderID)
	r.Attempt = ParseAttempt(r.HeaderValue(webhook.HeaderAttempt))
	return r
}

// HeaderValue returns the first value of the named header ("" if absent).
func (r *Request) HeaderValue(name string) string {
	if r.Header == nil {
		return ""
	}
	return r.Header.Get(name)
}

// ParseAttempt reads a webhook-attempt value: a positive decimal integer,
// anything else is 0 ("unknown").
func ParseAttempt(v string) int {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// RequestRand returns the random source for one request's draws: the
// probability rolls of the rules that match it and then the chosen fault's
// Plan. The derivation is part of the contract with the simulator:
//
//   - a request with a webhook-id and a webhook-attempt ≥ 1 draws from a
//     PCG seeded with (mix(seed ^ fnv1a64(id)), mix(mix(seed+γ) ^ attempt)):
//     the same event's same attempt gets the same draws whatever the arrival
//     order, so live and virtual runs fault the same deliveries;
//   - any other request draws from (mix(seed ^ σ), mix(seed + γ·(seq+1))),
//     where seq is the proxy's arrival number for it (1, 2, ...).
//
// mix is SplitMix64's finaliser, γ = 0x9e3779b97f4a7c15 and
// σ = 0x6a09e667f3bcc909.
func RequestRand(seed uint64, r Request, seq uint64) *rand.Rand {
	pcg := new(rand.PCG)
	seedDraws(pcg, seed, r.EventID, r.Attempt, seq)
	return rand.New(pcg)
}

const (
	golden = 0x9e3779b97f4a7c15
	sigma  = 0x6a09e667f3bcc909
)

func seedDraws(pcg *rand.PCG, seed uint64, id string, attempt int, seq uint64) {
	if id != "" && attempt > 0 {
		pcg.Seed(mix(seed^fnv1a(id)), mix(mix(seed+golden)^uint64(attempt)))
		return
	}
	pcg.Seed(mix(seed^sigma), mix(seed+golden*(seq+1)))
}

// mix is the SplitMix64 finaliser: it spreads nearby inputs (consecutive
// sequence numbers, similar ids) over the whole 64-bit space.
func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func fnv1a(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
