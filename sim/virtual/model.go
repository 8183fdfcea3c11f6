package virtual

import (
	"fmt"
	"time"
)

// Model is the virtual world's timing: what a live run spends where no
// code of hookrig's decides — the loopback network, the disk, the
// receiver's own work. Everything else (when to retry, what fault hits
// which attempt, what the receiver answers) is decided by the same code as
// in a live run. The defaults were measured on loopback on a 2-core Linux
// machine with the reference sender, chaos proxy and receiver in one
// process (the way `hookrig run` wires them); see DefaultModel.
type Model struct {
	// Ingest is from the load generator sending an event to the sender's
	// ingest handler stamping it accepted (the request on loopback and
	// its parsing).
	Ingest time.Duration
	// Commit is the median of one outbox group commit: a bbolt write
	// transaction and its fsync. Commits vary: each takes Commit times
	// e^(CommitSigma·Z), Z standard normal (a lognormal, as measured
	// fsync times are), plus CommitPerWrite for every change in the
	// group. Every ingest, every claimed attempt and every outcome waits
	// for one, so they are most of the sender's latency.
	Commit         time.Duration
	CommitSigma    float64
	CommitPerWrite time.Duration
	// Network is one hop one way on loopback — sender to proxy, proxy to
	// receiver, or back — including HTTP framing and parsing.
	Network time.Duration
	// ReceiverAck is the reference receiver's time from reading a
	// request to its acknowledgement: signature check, dedupe, journal.
	ReceiverAck time.Duration
	// Restart is how long a crashed sender takes, once its downtime is
	// over, to open its outbox again and start recovering.
	Restart time.Duration
}

// DefaultModel returns the constants measured on this project's 2-core
// machine, quiet. Commit: a bbolt write transaction with fsync, as the
// outbox opens it, timed 2000 times (169 µs p10, 205 µs p50, 286 µs p90,
// 427 µs p99: a lognormal of median 220 µs and sigma 0.3 fits). The hops
// (Ingest, Network, ReceiverAck) make an undelayed delivery take what it
// takes live — two commits and two hops, about 0.75 ms at the median
// (hookrig run baseline, quiet: 0.75–1.0 ms); they also set how long each
// attempt lasts, which timeouts and Retry-After are measured against. On
// a slower or busier machine scale them (Scaled, CalibrateModel).
func DefaultModel() Model {
	return Model{
		Ingest:         150 * time.Microsecond,
		Commit:         220 * time.Microsecond,
		CommitSigma:    0.3,
		CommitPerWrite: 2 * time.Microsecond,
		Network:        150 * time.Microsecond,
		ReceiverAck:    60 * time.Microsecond,
		Restart:        20 * time.Millisecond,
	}
}

// Validate reports a constant that would make the model meaningless.
func (m Model) Validate() error {
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"ingest", m.Ingest}, {"commit", m.Commit}, {"commit_per_write", m.CommitPerWrite},
		{"network", m.Network}, {"receiver_ack", m.ReceiverAck}, {"restart", m.Restart}} {
		if f.d < 0 {
			return fmt.Errorf("sim: model %s is negative (%s)", f.name, f.d)
		}
	}
	if m.CommitSigma < 0 || m.CommitSigma > 3 {
		return fmt.Errorf("sim: model commit_sigma %g: expected 0 to 3", m.CommitSigma)
	}
	return nil
}

// chunked is a growable array kept in fixed-size chunks: growing it never
// moves what is there, so pointers into it stay valid and a table of
// millions grows without copying itself.
type chunked[T any] struct {
	chunks [][]T
	n      int
}

const chunkShift = 12

func (c *chunked[T]) len() int { return c.n }

func (c *chunked[T]) at(i int) *T { return &c.chunks[i>>chunkShift][i&(1<<chunkShift-1)] }

// grow appends a zero value and returns its index.
func (c *chunked[T]) grow() int {
	if c.n&(1<<chunkShift-1) == 0 {
		c.chunks = append(c.chunks, make([]T, 1<<chunkShift))
	}
	c.n++
	return c.n - 1
}

// Scaled returns m with every time multiplied by f: the same world on a
// machine f times slower (the race detector, a loaded CI box).
func (m Model) Scaled(f float64) Model {
	scale := func(d time.Duration) time.Duration { return time.Duration(float64(d) * f) }
	m.Ingest, m.Commit, m.CommitPerWrite = scale(m.Ingest), scale(m.Commit), scale(m.CommitPerWrite)
	m.Network, m.ReceiverAck, m.Restart = scale(m.Network), scale(m.ReceiverAck), scale(m.Restart)
	return m
}
