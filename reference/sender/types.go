package sender

import (
	"encoding/json"
	"time"

	"github.com/hookrig/hookrig/internal/jsontime"
	"github.com/hookrig/hookrig/reference/sender/delivery"
)

// EndpointSpec is what a client gives to create an endpoint.
type EndpointSpec struct {
	URL string `json:"url"`
	// Secret signs every request ("whsec_..."); empty generates one.
	Secret string `json:"secret,omitempty"`
	// Scheme is how requests are signed: "standard" (the default,
	// Standard Webhooks), or github, stripe, shopify, slack, svix, convoy,
	// convoy-simple (docs/schemes.md), so that the sender can play such a
	// provider to a receiver. Only standard and svix read the secret as
	// whsec_ base64; the others key with its bytes as written. The payload
	// is sent as it is: under stripe, whose event id lives in the body,
	// give payloads that carry it at "id" as Stripe's do.
	Scheme string `json:"scheme,omitempty"`
	// Policy overrides the sender's default policy; nil keeps it.
	Policy *delivery.Policy `json:"policy,omitempty"`
}

// Endpoint is a destination for events, as the API shows it and the
// outbox stores it (JSON).
type Endpoint struct {
	ID             string          `json:"id"`
	URL            string          `json:"url"`
	Secret         string          `json:"secret,omitempty"`
	Scheme         string          `json:"scheme,omitempty"` // "" is standard
	Policy         delivery.Policy `json:"policy"`
	CreatedAt      time.Time       `json:"created_at"`
	Disabled       bool            `json:"disabled"`
	DisabledReason string          `json:"disabled_reason,omitempty"`
	DisabledAt     time.Time       `json:"disabled_at,omitzero"`
}

// EventSpec is one event to send.
type EventSpec struct {
	// ID is optional: a client that sets it can retry its request safely,
	// since the same id is accepted once (the webhook-id on the wire).
	ID       string          `json:"id,omitempty"`
	Endpoint string          `json:"endpoint"`
	Type     string          `json:"type"`
	Key      string          `json:"key,omitempty"` // ordering key
	Payload  json.RawMessage `json:"payload"`       // the request body, sent as is
}

// Event is an accepted event with its delivery history.
type Event struct {
	ID         string          `json:"id"`
	Seq        uint64          `json:"seq"` // acceptance order
	Endpoint   string          `json:"endpoint"`
	Type       string          `json:"type"`
	Key        string          `json:"key,omitempty"`
	Payload    json.RawMessage `json:"payload"`
	AcceptedAt time.Time       `json:"accepted_at"`
	State      string          `json:"state"` // pending | delivered | dead_lettered
	Reason     string          `json:"reason,omitempty"`
	NextAt     time.Time       `json:"next_at,omitzero"`  // pending: next attempt due (zero: first attempt, or in flight)
	FinalAt    time.Time       `json:"final_at,omitzero"` // delivered or dead-lettered at
	Replays    int             `json:"replays,omitempty"`
	Attempts   []Attempt       `json:"attempts"`
}

// Attempt is one try at delivering an event.
type Attempt struct {
	N        int              `json:"n"` // the webhook-attempt header sent
	At       time.Time        `json:"at"`
	Duration time.Duration    `json:"-"`
	Status   int              `json:"status,omitempty"` // 0: no HTTP answer
	Err      delivery.ErrKind `json:"error,omitempty"`
	Detail   string           `json:"detail,omitempty"` // transport error text, or the start of a non-2xx body
}

// attemptJSON is Attempt's wire form: the same fields (attemptFields has
// no methods, so no recursion) plus the duration as a string.
type attemptFields Attempt

type attemptJSON struct {
	attemptFields
	Duration jsontime.Duration `json:"duration"`
}

// MarshalJSON writes the duration as a string ("1.2ms").
func (a Attempt) MarshalJSON() ([]byte, error) {
	return json.Marshal(attemptJSON{attemptFields(a), jsontime.Duration(a.Duration)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (a *Attempt) UnmarshalJSON(b []byte) error {
	var w attemptJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*a = Attempt(w.attemptFields)
	a.Duration = time.Duration(w.Duration)
	return nil
}

func (a *attemptRecord) public() Attempt {
	return Attempt{N: int(a.N), At: fromUnixNano(a.At), Duration: time.Duration(a.Duration),
		Status: int(a.Status), Err: delivery.ErrKind(a.Err), Detail: a.Detail}
}

func newEvent(seq uint64, ev *eventRecord, st *stateRecord, attempts []attemptRecord) Event {
	e := Event{
		ID: ev.ID, Seq: seq, Endpoint: ev.Endpoint, Type: ev.Type, Key: ev.Key,
		Payload: ev.Payload, AcceptedAt: fromUnixNano(ev.AcceptedAt),
		State: st.Code.String(), Reason: st.Reason, NextAt: fromUnixNano(st.NextAt),
		FinalAt: fromUnixNano(st.FinalAt), Replays: int(st.Replays), Attempts: []Attempt{},
	}
	for i := range attempts {
		e.Attempts = append(e.Attempts, attempts[i].public())
	}
	return e
}

// Stats are the sender's counts. Accepted = Delivered + DeadLettered +
// Pending at every moment, crash or not.
type Stats struct {
	Accepted     uint64 `json:"accepted"`
	Delivered    uint64 `json:"delivered"`
	Pending      uint64 `json:"pending"`
	DeadLettered uint64 `json:"dead_lettered"`
	Attempts     uint64 `json:"attempts"`
	// Interrupted counts attempts that were in flight when the sender
	// stopped: the endpoint may have received them, so the retry that
	// follows each may be a duplicate. They are counted, not hidden.
	Interrupted uint64 `json:"interrupted"`
	Replayed    uint64 `json:"replayed"`
	// Removed counts delivered events removed from the bbolt outbox by
	// retention (Config.Retain); they still count as delivered.
	Removed  uint64 `json:"removed"`
	InFlight int    `json:"in_flight"`
	// Waiting counts events held behind their key's head (ordered
	// delivery).
	Waiting           int `json:"waiting"`
	Endpoints         int `json:"endpoints"`
	DisabledEndpoints int `json:"disabled_endpoints"`
	OpenBreakers      int `json:"open_breakers"`
	// Throttling, since the sender started (memory only): attempts
	// answered 429 (or 503 with Retry-After), endpoints paused by a
	// Retry-After now, endpoints paced by a rate now.
	AttemptsThrottled uint64 `json:"attempts_throttled"`
	PausedEndpoints   int    `json:"paused_endpoints"`
	PacedEndpoints    int    `json:"paced_endpoints"`
	// Commits and WritesPerCommit show group commit at work.
	Commits         uint64  `json:"commits"`
	WritesPerCommit float64 `json:"writes_per_commit"`
}

// EndpointFlow is how the sender sends to one endpoint now, as GET
// /v1/endpoints/{id} shows it. It is learnt from the endpoint's answers
// and kept in memory only: a restarted sender learns again.
type EndpointFlow struct {
	InFlight int `json:"in_flight"`
	// Concurrency is the endpoint's window now: attempts it may have in
	// flight (it grows with answers and halves on timeouts).
	Concurrency int `json:"concurrency"`
	// Rate is the attempts per second it is paced at; 0: not paced.
	Rate float64 `json:"rate"`
	// PausedUntil: a throttled answer's Retry-After stops new attempts
	// until then.
	PausedUntil       time.Time `json:"paused_until,omitzero"`
	AttemptsThrottled uint64    `json:"attempts_throttled"`
	Breaker           string    `json:"breaker"` // closed | open | half_open
}

// DLQEntry is an entry of the dead-letter queue.
type DLQEntry struct {
	ID       string    `json:"id"`
	Seq      uint64    `json:"seq"`
	Endpoint string    `json:"endpoint"`
	Type     string    `json:"type"`
	Key      string    `json:"key,omitempty"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
	Attempts int       `json:"attempts"`
}

// Replayed says what a replay did.
type Replayed struct {
	IDs     []string  `json:"ids"`
	Skipped []Skipped `json:"skipped,omitempty"`
}

// Skipped is a dead letter a replay of everything left alone.
type Skipped struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// AttemptReport is what Config.OnAttempt hears: one attempt, durable, and
// what the policy decided after it.
type AttemptReport struct {
	EventID  string
	Seq      uint64
	Endpoint string
	Key      string
	Attempt  Attempt
	Decision delivery.DecisionKind
	NextAt   time.Time // for delivery.RetryAt
	Reason   string    // for delivery.DeadLetter and delivery.DisableEndpoint
}
