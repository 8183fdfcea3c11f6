package sender

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// The outbox stores records in a small binary form: JSON would spend more
// time than the disk on every attempt, and the payload, already JSON, would
// be validated and copied twice.

const recordVersion = 1

// eventRecord is an accepted event; it never changes after ingest.
type eventRecord struct {
	ID         string
	Endpoint   string
	Type       string
	Key        string
	Payload    []byte
	AcceptedAt int64 // Unix nanoseconds
}

// Event states, as stored and as shown in the API.
const (
	StatePending      = "pending"
	StateDelivered    = "delivered"
	StateDeadLettered = "dead_lettered"
)

type stateCode byte

const (
	codePending stateCode = iota
	codeDelivered
	codeDeadLettered
)

func (c stateCode) String() string {
	switch c {
	case codeDelivered:
		return StateDelivered
	case codeDeadLettered:
		return StateDeadLettered
	}
	return StatePending
}

// stateRecord is an event's mutable delivery state.
type stateRecord struct {
	Code stateCode
	// Attempts counts attempts since acceptance or the last replay: the
	// policy's count. Total counts every attempt ever (the webhook-attempt
	// number of the last one).
	Attempts uint32
	Total    uint32
	// Since is when the policy's clock started: acceptance, or the last
	// replay. MaxAge counts from here.
	Since   int64
	NextAt  int64 // when the next attempt is due; 0 = the policy's First
	FinalAt int64 // when it was delivered or dead-lettered
	Replays uint32
	Reason  string
	// First is the attempt that delivered the event at its first try
	// (N 1), kept here instead of in the attempts bucket: most events
	// end so, and one record written once at the outcome is one put and
	// one bucket fewer per event in the writer's commit. N 0: none (the
	// attempts are all in the attempts bucket).
	First attemptRecord
}

// attemptRecord is one attempt's result.
type attemptRecord struct {
	N        uint32
	At       int64 // Unix nanoseconds
	Duration int64 // nanoseconds
	Status   uint16
	Err      string
	Detail   string
}

// claimRecord marks an attempt in flight: written (durably) before the
// request goes out, deleted with its outcome. One left over after a crash
// is an attempt whose outcome is unknown.
type claimRecord struct {
	N  uint32
	At int64
}

var errCorrupt = errors.New("corrupt outbox record")

type encoder struct{ b []byte }

func (e *encoder) u(v uint64)   { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) i(v int64)    { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) s(v string)   { e.u(uint64(len(v))); e.b = append(e.b, v...) }
func (e *encoder) bs(v []byte)  { e.u(uint64(len(v))); e.b = append(e.b, v...) }
func newEncoder(n int) *encoder { return &encoder{b: append(make([]byte, 0, n), recordVersion)} }

type decoder struct {
	b   []byte
	err error
}

func newDecoder(b []byte) *decoder {
	if len(b) == 0 || b[0] != recordVersion {
		return &decoder{err: fmt.Errorf("%w: unknown version", errCorrupt)}
	}
	return &decoder{b: b[1:]}
}

func (d *decoder) u() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) i() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

// bs returns a copy: bbolt's memory is only valid inside its transaction.
func (d *decoder) bs() []byte {
	n := d.u()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errCorrupt
		return nil
	}
	v := append([]byte(nil), d.b[:n]...)
	d.b = d.b[n:]
	return v
}

func (d *decoder) s() string { return string(d.bs()) }

func (r *eventRecord) encode() []byte {
	e := newEncoder(32 + len(r.ID) + len(r.Endpoint) + len(r.Type) + len(r.Key) + len(r.Payload))
	e.s(r.ID)
	e.s(r.Endpoint)
	e.s(r.Type)
	e.s(r.Key)
	e.bs(r.Payload)
	e.i(r.AcceptedAt)
	return e.b
}

func decodeEvent(b []byte) (eventRecord, error) {
	d := newDecoder(b)
	r := eventRecord{ID: d.s(), Endpoint: d.s(), Type: d.s(), Key: d.s(), Payload: d.bs(), AcceptedAt: d.i()}
	return r, d.err
}

func (r *stateRecord) encode() []byte {
	e := newEncoder(48 + len(r.Reason))
	e.u(uint64(r.Code))
	e.u(uint64(r.Attempts))
	e.u(uint64(r.Total))
	e.i(r.Since)
	e.i(r.NextAt)
	e.i(r.FinalAt)
	e.u(uint64(r.Replays))
	e.s(r.Reason)
	if r.First.N != 0 {
		// After the fields of the first layout, so a file written
		// before reads as it did: a state record that ends here has no
		// attempt of its own.
		r.First.encodeTo(e)
	}
	return e.b
}

func decodeState(b []byte) (stateRecord, error) {
	d := newDecoder(b)
	r := stateRecord{Code: stateCode(d.u()), Attempts: uint32(d.u()), Total: uint32(d.u()),
		Since: d.i(), NextAt: d.i(), FinalAt: d.i(), Replays: uint32(d.u()), Reason: d.s()}
	if d.err == nil && len(d.b) > 0 {
		r.First = decodeAttemptFrom(d)
	}
	return r, d.err
}

func (r *attemptRecord) encode() []byte {
	e := newEncoder(32 + len(r.Err) + len(r.Detail))
	r.encodeTo(e)
	return e.b
}

func (r *attemptRecord) encodeTo(e *encoder) {
	e.u(uint64(r.N))
	e.i(r.At)
	e.i(r.Duration)
	e.u(uint64(r.Status))
	e.s(r.Err)
	e.s(r.Detail)
}

func decodeAttempt(b []byte) (attemptRecord, error) {
	d := newDecoder(b)
	r := decodeAttemptFrom(d)
	return r, d.err
}

func decodeAttemptFrom(d *decoder) attemptRecord {
	return attemptRecord{N: uint32(d.u()), At: d.i(), Duration: d.i(), Status: uint16(d.u()), Err: d.s(), Detail: d.s()}
}

func (r *claimRecord) encode() []byte {
	e := newEncoder(16)
	e.u(uint64(r.N))
	e.i(r.At)
	return e.b
}

func decodeClaim(b []byte) (claimRecord, error) {
	d := newDecoder(b)
	r := claimRecord{N: uint32(d.u()), At: d.i()}
	return r, d.err
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq) }

func keySeq(k []byte) uint64 { return binary.BigEndian.Uint64(k) }

// attemptKey orders an event's attempts after its seq.
func attemptKey(seq uint64, n uint32) []byte {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(make([]byte, 0, 12), seq), n)
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// decodeEventHead reads an event record without copying its payload (for
// recovery, which only needs to schedule).
func decodeEventHead(b []byte) (eventRecord, error) {
	d := newDecoder(b)
	r := eventRecord{ID: d.s(), Endpoint: d.s(), Type: d.s(), Key: d.s()}
	if n := d.u(); d.err == nil {
		if n > uint64(len(d.b)) {
			return r, errCorrupt
		}
		d.b = d.b[n:]
	}
	r.AcceptedAt = d.i()
	return r, d.err
}
