package sender

import (
	"context"
	"strconv"
)

// outboxStore is what the API and the dispatcher ask of the place events
// are kept. Two implement it:
//
//   - boltStore, the embedded default: one process, every change queued
//     to one writer (group commit), the schedule in memory (dispatcher);
//   - pgStore, PostgreSQL: several instances on one database, the
//     schedule in the rows, claims leased (pgstore.go, pgdispatch.go).
//
// Both check requests the same way (validate.go, newEndpoint) and decide
// every attempt with the same pure steps (delivery): only where the
// outcome is kept, and how work is found and claimed, differ.
type outboxStore interface {
	createEndpoint(spec EndpointSpec) (Endpoint, error)
	endpoint(id string) (Endpoint, error)
	endpoints() ([]Endpoint, error)
	deleteEndpoint(id string) error
	enableEndpoint(id string) (Endpoint, error)
	enqueue(specs []EventSpec, batch bool) ([]string, error)
	event(id string) (Event, error)
	eventsPage(after uint64, limit int) ([]Event, error)
	dlq(after uint64, limit int) ([]DLQEntry, error)
	replay(ids []string) (Replayed, error)
	stats() Stats
	counters() counters
	flowOf(id string) (EndpointFlow, bool)
	// start begins dispatching; stop ends it (crash: as kill -9 would)
	// and closes the store.
	start(ctx context.Context)
	stop(crash bool)
}

// boltStore is the Sender on its bbolt outbox: the Sender's own fields
// (ob, d) are the store, so the bbolt code reads as it always did.
type boltStore Sender

var (
	_ outboxStore = (*boltStore)(nil)
	_ outboxStore = (*pgStore)(nil)
)

func (b *boltStore) counters() counters { return b.ob.counters() }

func (b *boltStore) flowOf(id string) (EndpointFlow, bool) { return b.d.flowOf(id) }

// CreateEndpoint registers a destination. An empty secret gets a fresh
// one; a nil policy gets the sender's default.
func (s *Sender) CreateEndpoint(spec EndpointSpec) (Endpoint, error) {
	return s.store.createEndpoint(spec)
}

// Endpoint returns one endpoint.
func (s *Sender) Endpoint(id string) (Endpoint, error) { return s.store.endpoint(id) }

// Endpoints lists every endpoint, oldest first.
func (s *Sender) Endpoints() ([]Endpoint, error) { return s.store.endpoints() }

// DeleteEndpoint removes an endpoint. Its pending events are
// dead-lettered ("endpoint deleted") and stay readable; attempts in flight
// finish and are dead-lettered unless they were delivered.
func (s *Sender) DeleteEndpoint(id string) error { return s.store.deleteEndpoint(id) }

// EnableEndpoint re-enables an endpoint disabled after a 410 Gone. Its
// dead-lettered events stay in the dead-letter queue: replay them.
func (s *Sender) EnableEndpoint(id string) (Endpoint, error) { return s.store.enableEndpoint(id) }

// enqueue does Enqueue; batch says whether errors name an index
// ("events[3].type: ...").
func (s *Sender) enqueue(specs []EventSpec, batch bool) ([]string, error) {
	return s.store.enqueue(specs, batch)
}

// Event returns one event with every attempt.
func (s *Sender) Event(id string) (Event, error) { return s.store.event(id) }

// EventsPage returns up to limit events accepted after seq after, in
// acceptance order.
func (s *Sender) EventsPage(after uint64, limit int) ([]Event, error) {
	return s.store.eventsPage(after, limit)
}

// DLQ returns up to limit dead-lettered events after seq after, oldest
// first.
func (s *Sender) DLQ(after uint64, limit int) ([]DLQEntry, error) { return s.store.dlq(after, limit) }

// Replay sends dead-lettered events again, with a fresh policy budget
// (attempts and age count from now; webhook-attempt keeps counting up).
// With ordered delivery a replayed event joins the back of its key's lane.
// With ids, each must be dead-lettered and its endpoint enabled, or
// nothing is replayed; with none, every dead letter whose endpoint can
// take it is replayed and the others are listed as skipped.
func (s *Sender) Replay(ids []string) (Replayed, error) { return s.store.replay(ids) }

// Stats returns the counts, durable ones as of the last commit.
func (s *Sender) Stats() Stats { return s.store.stats() }

// whereIn says where in a request an event's error is: "events[3]." in a
// batch, nothing for a single event.
func whereIn(batch bool) func(i int) string {
	return func(i int) string {
		if batch {
			return "events[" + strconv.Itoa(i) + "]."
		}
		return ""
	}
}

// Instance is this instance's name in a PostgreSQL store's leases and
// attempts ("" on bbolt).
func (s *Sender) Instance() string {
	if s.cfg.Store == "" {
		return ""
	}
	return s.cfg.Instance
}

// checkBatchSize refuses an ingest request of no events or of more than
// MaxBatch.
func checkBatchSize(n int) error {
	switch {
	case n == 0:
		return invalid("events: no events given")
	case n > MaxBatch:
		return invalid("events: %d events is over the limit of %d per request", n, MaxBatch)
	}
	return nil
}
