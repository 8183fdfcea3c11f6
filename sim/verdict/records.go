package verdict

import "time"

// The checker's inputs. The live runner converts what the sender, the
// chaos proxy, the receiver and the load generator recorded into these;
// the virtual engine emits them directly. They carry times as time.Time
// (virtual or wall); the checker turns them into offsets from the run's
// start, so a Result never holds a wall-clock time.

// Accepted is one event the sender durably accepted (its ingest ack, or
// the load generator's own list when the sender is the user's).
type Accepted struct {
	ID string
	// Key is the ordering key; "" means the event promises no order.
	Key string
	// Seq is the acceptance order (the sender's sequence). Events of one
	// key are expected to be received in Seq order; ties fall back to At,
	// then ID.
	Seq uint64
	At  time.Time
	// Phase names the load phase the event was sent in; when empty the
	// checker places it by At in the run's phase windows.
	Phase string
	// Endpoint names the fleet endpoint the event was for (GROUP-N) and
	// Group its group; both "" with one endpoint. The Result breaks its
	// figures down by Group (Result.Endpoints).
	Endpoint string
	Group    string
}

// AttemptRec is one delivery attempt: one HTTP request the sender made
// (or the proxy saw) for an event.
type AttemptRec struct {
	ID       string
	N        int // the sender's attempt number, 1-based
	At       time.Time
	Duration time.Duration
	Status   int    // HTTP status the sender saw; 0 when there was none
	Err      string // transport error kind ("timeout", "reset", ...), "" if none
	Fault    string // fault type the chaos proxy injected, "" if none
}

// Failed reports whether the sender saw the attempt fail: a transport
// error or a status outside 2xx.
func (a AttemptRec) Failed() bool {
	return a.Err != "" || !is2xx(a.Status)
}

// Answer is one request the receiving endpoint was sent and how it
// answered, as the chaos proxy saw it forward the request: the
// endpoint's own behaviour, apart from the faults injected in front of
// it. A feeder that records answers says so with WithAnswers; otherwise
// the checker reads the endpoint's answers off the attempts that met no
// injected fault.
type Answer struct {
	At       time.Time
	Duration time.Duration // from sending the request to its answer (or failure)
	Status   int           // 0 when there was no HTTP answer
	Err      string        // transport word (refused, reset, timeout, eof, ...), "" if none
}

// Disable is the sender switching the endpoint off (after a 410 Gone,
// say): nothing more is attempted, and what waits is dead-lettered.
type Disable struct {
	At     time.Time
	Reason string
}

// ReceiptRec is one request the receiving end saw: the reference
// receiver's journal, or what the proxy saw a user's endpoint answer.
type ReceiptRec struct {
	ID     string
	At     time.Time
	Status int // what the receiver answered
	// Duplicate is the receiver's own verdict (its dedupe had seen the id).
	Duplicate bool
	// Verified says the signature checked out (set it for a user's
	// endpoint, whose verification hookrig cannot see).
	Verified bool
}

// Acknowledged reports whether the receipt counts as a delivery: a
// verified request answered with a 2xx.
func (r ReceiptRec) Acknowledged() bool {
	return r.Verified && is2xx(r.Status)
}

// Final is the sender's own last word on an event after the drain.
type Final struct {
	ID     string
	State  string // StateDelivered, StateDeadLettered or StatePending
	At     time.Time
	Reason string // why it was dead-lettered, if it was
}

// The sender's final states. The sender's "delivered" is its claim only:
// an event counts as delivered when a receipt says so.
const (
	StateDelivered    = "delivered"
	StateDeadLettered = "dead_lettered"
	StatePending      = "pending"
)

// Modes of a run.
const (
	ModeLive    = "live"
	ModeVirtual = "virtual"
)

// RunInfo is what the checker cannot learn from the records: the
// scenario, the seed and the run's timeline, as offsets from its start.
type RunInfo struct {
	Scenario    string
	Description string
	Mode        string // ModeLive or ModeVirtual
	Seed        uint64
	// TraceHash fingerprints a virtual run's event trace ("" for live).
	TraceHash string
	// LoadEnd is when load stopped; End when the drain finished (or timed
	// out), both since the run started.
	LoadEnd time.Duration
	End     time.Duration
	// DrainTimedOut says events were still pending when the drain gave up.
	DrainTimedOut bool
	Phases        []PhaseWindow
	Faults        []FaultWindow
	// LoadSent and LoadRejected are what the load generator saw at the
	// sender's ingest.
	LoadSent     int64
	LoadRejected int64
	// Target is what was tested (Result.Target).
	Target Target
	// Groups are a fleet's groups, in the scenario's order (none with one
	// endpoint); events name theirs in Accepted.Group.
	Groups []GroupInfo
}

// PhaseWindow is one load phase on the run's timeline.
type PhaseWindow struct {
	Name       string
	Start, End time.Duration
}

// FaultWindow is one chaos rule's active stretch on the timeline. End <=
// Start means it stayed on until the run ended.
type FaultWindow struct {
	Rule       string
	Fault      string // the fault type, e.g. "status", "refuse", "latency"
	Start, End time.Duration
}

func is2xx(status int) bool { return status >= 200 && status <= 299 }
