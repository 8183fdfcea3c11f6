// Package scenarios holds hookrig's scenario model: a YAML file that says
// what load to send, which faults to inject when, how long to drain and
// which delivery guarantees must hold. It parses and validates a file with
// positions (file:line:column) before anything starts, compiles the
// assertions, and embeds the built-in library. It starts nothing: sim runs
// what this package describes.
package scenarios

import (
	"encoding/json"
	"time"

	"github.com/hookrig/hookrig/chaos/fault"
	"github.com/hookrig/hookrig/reference/sender/delivery"
	"github.com/hookrig/hookrig/reference/webhook"
)

// Scenario is one parsed, validated scenario file.
type Scenario struct {
	Name        string
	Description string
	Seed        uint64
	// File is where the scenario came from (a path, or "builtin:NAME").
	File string
	// Source is the YAML text, so `scenarios show` and reports can quote it.
	Source []byte

	// Scheme is the signature scheme the run signs and verifies with
	// (webhook.SchemeNames, lower case); "" is the runner's default,
	// Standard Webhooks. A --scheme flag overrides it.
	Scheme string
	// IDFrom is where each delivery's event id is read (id_from:
	// header:NAME or json:PATH); none means the scheme's own place.
	// An --id-from flag overrides it.
	IDFrom webhook.IDSource

	Sender   Sender
	Receiver Receiver
	Load     Load
	Faults   []Fault
	// Endpoints is the fleet (fleet.go); without `endpoints:` it has no
	// groups and the scenario has one endpoint, Receiver.
	Endpoints  Endpoints
	Drain      Drain
	Assertions []Assertion
}

// Sender says which sender the run exercises: hookrig's reference sender
// (the default, with policy overrides) or the user's, driven by a trigger.
type Sender struct {
	// Policy is the reference sender's delivery policy: its defaults with
	// the scenario's overrides; nil when the scenario changes nothing.
	Policy *delivery.Policy
	// Workers is the sender's dispatcher concurrency (0: its default),
	// per instance.
	Workers int
	// Instances is how many reference sender instances share the outbox
	// (0 or 1: one); more than one needs Store StorePostgres.
	Instances int
	// Store is where the outbox is kept: "" or StoreBbolt (a file, one
	// process) or StorePostgres (one database every instance shares).
	Store string
	// Crashes kill the reference sender (or one of its instances) at a
	// moment and restart it on the same outbox after a downtime.
	Crashes []Crash
	// Trigger, when set, drives the user's own sender instead.
	Trigger *Trigger
}

// Crash is one kill-and-restart of the reference sender.
type Crash struct {
	At   time.Duration // since the run started
	Down time.Duration // how long it stays down
	// Instance is which sender instance is killed, 1 to
	// Sender.Instances; 0 with a single instance (the sender).
	Instance int
}

// Outbox stores and dedupe homes a scenario may name.
const (
	StoreBbolt    = "bbolt"    // the sender's outbox in a file: one process
	StorePostgres = "postgres" // shared by every instance (sender.store, receiver.dedupe)
	DedupeMemory  = "memory"   // each receiver instance's own window
)

// SenderInstances is how many reference sender instances the run starts.
func (s Sender) SenderInstances() int { return max(s.Instances, 1) }

// ReceiverInstances is how many reference receiver instances the run
// starts behind its round-robin balancer.
func (r Receiver) ReceiverInstances() int { return max(r.Instances, 1) }

// NeedsPostgres says a run of the scenario needs a PostgreSQL server: its
// reference sender's outbox or its reference receivers' dedupe is kept
// there. ownSender and ownReceiver say the run replaces them with the
// user's (a trigger, a receiver URL given on the command line), whose
// stores are their own.
func (s *Scenario) NeedsPostgres(ownSender, ownReceiver bool) bool {
	return s.Sender.Store == StorePostgres && !ownSender && s.Sender.Trigger == nil ||
		s.Receiver.Dedupe == StorePostgres && !ownReceiver && s.Receiver.URL == ""
}

// Trigger is an HTTP request template that makes the user's sender emit
// one event carrying hookrig's id ({{.ID}}, {{.Seq}}, {{.Key}} are
// available in the URL, headers and body).
type Trigger struct {
	Method  string
	URL     string
	Headers map[string]string
	Body    string
}

// Receiver says which endpoint receives: hookrig's reference receiver
// (default) or the user's own URL behind the chaos proxy.
type Receiver struct {
	URL        string // the user's endpoint; empty for the reference receiver
	Processing Processing
	DedupeTTL  time.Duration // 0: the receiver's default
	// Instances is how many reference receiver instances answer behind
	// one address (0 or 1: one); more than one needs Dedupe
	// StorePostgres, or a retry landing on another instance would not be
	// caught as a duplicate.
	Instances int
	// Dedupe is where the instances keep their dedupe window: "" or
	// DedupeMemory (each its own), or StorePostgres (shared).
	Dedupe string
}

// Processing is the reference receiver's simulated work per webhook.
type Processing struct {
	Duration     time.Duration
	FailureRatio float64
	BeforeAck    bool // the wrong way: process, then acknowledge
}

// Load is what the load generator sends into the sender.
type Load struct {
	Phases []Phase
	// Keys is how many ordering keys events are spread over (round robin);
	// 0 means every event has its own key (nothing to reorder).
	Keys int
	// PayloadBytes pads each event's payload to about this size.
	PayloadBytes int
	// Payloads, when set, replaces the default payload (payloads.go).
	Payloads Payloads
}

// Phase is a stretch of load with one pacer.
type Phase struct {
	Name     string
	Pacer    string // loadgen's pacer mini-syntax, e.g. "constant:100"
	Start    time.Duration
	Duration time.Duration
	pos      Pos
	pacerPos Pos
}

// End is when the phase's load stops, since the run started.
func (p Phase) End() time.Duration { return p.Start + p.Duration }

// Fault is one chaos rule on the run's timeline, as the chaos proxy's JSON
// rule schema.
type Fault struct {
	Name  string
	After time.Duration
	For   time.Duration // 0: until the drain (or for ever when the drain keeps faults)
	// Spec is the rule as JSON, as written; Rule is it decoded and
	// checked by the chaos package (what the proxy and sim load).
	Spec json.RawMessage
	Rule fault.RuleSpec
	pos  Pos
}

// Drain is what happens once load stops.
type Drain struct {
	// Timeout is the most the run waits for pending events to settle.
	Timeout time.Duration
	// KeepFaults leaves the fault timeline running during the drain
	// (normally faults are switched off so retries can succeed).
	KeepFaults bool
	// AllowPending lets the run pass with events still pending when the
	// drain ends; otherwise pending events fail it (sim.Check).
	AllowPending bool
}

// Assertion is one compiled boolean expression over the result.
type Assertion struct {
	Expr    string
	pos     Pos
	program *program
}

// LoadEnd is when the last phase stops.
func (s *Scenario) LoadEnd() time.Duration {
	var end time.Duration
	for _, p := range s.Load.Phases {
		end = max(end, p.End())
	}
	return end
}
