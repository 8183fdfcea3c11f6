package hookrigtest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hookrig/hookrig/reference/sender"
)

// Sender is hookrig's reference sender for one test (hookrig sender),
// with one endpoint: the URL under test. It signs every attempt, retries
// by its policy and dead-letters what it gives up on.
type Sender struct {
	// API is the sender's HTTP API (POST /v1/events, GET /v1/events/ID...).
	API string
	// Endpoint is the endpoint the helper created, delivering to the
	// URL given to NewSender.
	Endpoint sender.Endpoint

	t   testing.TB
	s   *sender.Sender
	sig signal // wakes WaitDelivered on every attempt
	ids []string
}

// NewSender opens a reference sender on a fresh outbox in a temporary
// directory, creates an endpoint delivering to url, starts delivering,
// and closes it at the end of the test. Options: WithSecret (else a fresh
// one, in Endpoint.Secret), WithPolicy, WithSenderConfig.
func NewSender(t testing.TB, url string, opts ...Option) *Sender {
	t.Helper()
	o := collect(opts)
	s := &Sender{t: t}
	var cfg sender.Config
	if o.sender != nil {
		o.sender(&cfg)
	}
	cfg.DataDir = t.TempDir()
	cfg.OnAttempt = func(sender.AttemptReport) { s.sig.update(func() {}) }
	snd, err := sender.Open(cfg)
	if err != nil {
		t.Fatalf("hookrigtest: sender: %v", err)
	}
	s.s = snd
	s.API = serve(t, snd.Handler(), snd.Close)
	ep, err := snd.CreateEndpoint(sender.EndpointSpec{URL: url, Secret: o.secret, Policy: o.policy})
	if err != nil {
		t.Fatalf("hookrigtest: sender: endpoint %s: %v", url, err)
	}
	s.Endpoint = ep
	snd.Start(context.Background())
	return s
}

// Send enqueues events for the endpoint (each EventSpec's Endpoint is
// set to it) and returns their ids, once they are durable.
func (s *Sender) Send(events ...sender.EventSpec) []string {
	s.t.Helper()
	for i := range events {
		events[i].Endpoint = s.Endpoint.ID
	}
	ids, err := s.s.Enqueue(context.Background(), events)
	if err != nil {
		s.t.Fatalf("hookrigtest: sender: %v", err)
	}
	s.sig.update(func() { s.ids = append(s.ids, ids...) })
	return ids
}

// Post enqueues one event of type eventType with payload marshalled to
// JSON as its body, and returns its id.
func (s *Sender) Post(eventType string, payload any) string {
	s.t.Helper()
	body, err := json.Marshal(payload)
	if err != nil {
		s.t.Fatalf("hookrigtest: sender: payload of %s: %v", eventType, err)
	}
	return s.Send(sender.EventSpec{Type: eventType, Payload: body})[0]
}

// WaitDelivered waits until every event sent is final (delivered or
// dead-lettered) and returns them, with their attempts, in the order
// sent; after timeout it fails the test, saying how many are pending.
// It does not fail for dead-lettered events: the test checks each
// Event's State.
func (s *Sender) WaitDelivered(timeout time.Duration) []sender.Event {
	s.t.Helper()
	final := func() bool { return s.s.Stats().Pending == 0 }
	if !s.sig.wait(timeout, final) {
		st := s.s.Stats()
		s.t.Fatalf("hookrigtest: sender: %d of %d events still pending after %s (%d delivered, %d dead-lettered, %d attempts)",
			st.Pending, st.Accepted, timeout, st.Delivered, st.DeadLettered, st.Attempts)
	}
	var ids []string
	s.sig.read(func() { ids = append(ids, s.ids...) })
	out := make([]sender.Event, 0, len(ids))
	for _, id := range ids {
		e, err := s.s.Event(id)
		if err != nil {
			s.t.Fatalf("hookrigtest: sender: event %s: %v", id, err)
		}
		out = append(out, e)
	}
	return out
}

// Stats returns the sender's counters (GET /v1/stats).
func (s *Sender) Stats() sender.Stats { return s.s.Stats() }
