package sender

import (
	"container/heap"
	"time"

	"github.com/hookrig/hookrig/reference/sender/delivery"
	"github.com/hookrig/hookrig/reference/webhook"
)

// endpointRT is an endpoint as the dispatcher runs it.
type endpointRT struct {
	id       string
	url      string
	target   *wireTarget     // url for the sender's own client; nil: not http://
	signer   *webhook.Signer // Standard Webhooks, allocation-free
	scheme   webhook.Scheme  // any other scheme, instead of signer
	policy   delivery.Policy
	breaker  delivery.BreakerState
	flow     delivery.Flow // window, pause and rate learnt from its answers (memory only)
	inflight int           // attempts on the wire
	claims   []*job        // attempts claimed in the outbox, not started yet, in claim order
	admitted int           // of claims, those not claimed ahead (see dispatcher.pick)
	ready    dueHeap       // events that may be attempted once due
	// disabled stops new attempts: the endpoint answered 410 Gone or was
	// deleted (gone). Attempts in flight finish and are dead-lettered
	// unless they were delivered.
	disabled bool
	gone     bool
	reason   string
}

// item is one pending event in memory: what the policy needs, not the
// payload (that stays on disk until an attempt claims it).
type item struct {
	seq   uint64
	id    string
	ep    *endpointRT
	key   string
	st    delivery.DeliveryState
	total uint32 // attempts ever made (the last webhook-attempt number)
	due   time.Time
	idx   int // position in ep.ready, -1 when not there
}

// state is what delivery's steps read and change about the endpoint
// (its policy by address: the caller holds the dispatcher's lock, which
// guards a change of the policy too).
func (ep *endpointRT) state() delivery.Endpoint {
	return delivery.Endpoint{Policy: &ep.policy, Breaker: ep.breaker, Flow: ep.flow, Disabled: ep.disabled, Reason: ep.reason}
}

// setState keeps what a step changed.
func (ep *endpointRT) setState(es delivery.Endpoint) {
	ep.breaker, ep.flow, ep.disabled, ep.reason = es.Breaker, es.Flow, es.Disabled, es.Reason
}

func (it *item) lane() delivery.LaneKey { return delivery.LaneKey{Endpoint: it.ep.id, Key: it.key} }

func (it *item) ordered() bool { return it.ep.policy.Ordered && it.key != "" }

// dueHeap orders an endpoint's ready events by due time, then acceptance.
type dueHeap []*item

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].seq < h[j].seq
}
func (h dueHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx = i
	h[j].idx = j
}
func (h *dueHeap) Push(x any) {
	it := x.(*item)
	it.idx = len(*h)
	*h = append(*h, it)
}
func (h *dueHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	it.idx = -1
	return it
}

func (h *dueHeap) push(it *item) { heap.Push(h, it) }
func (h *dueHeap) pop() *item    { return heap.Pop(h).(*item) }
func (h *dueHeap) remove(it *item) {
	if it.idx >= 0 {
		heap.Remove(h, it.idx)
	}
}
