package chaos

import (
	"sync"
	"time"
)

// AttemptRecord is what the proxy saw of one request: what it asked the
// upstream, what the upstream answered, what the client got. Every request
// the proxy read produces exactly one, in the attempt log and to
// Config.OnAttempt; when the user's own endpoint sits behind the proxy,
// these are the run's receipts.
type AttemptRecord struct {
	// Seq is the record's position in the attempt log (1, 2, ...), in
	// the order requests finished: the cursor for Attempts(since).
	Seq uint64 `json:"seq"`
	// Request is the request's arrival number (1, 2, ...), the seq of
	// RequestRand when the request has no webhook-id/attempt.
	Request uint64    `json:"request"`
	At      time.Time `json:"at"` // when the proxy had read the request
	EventID string    `json:"event_id,omitempty"`
	Attempt int       `json:"attempt,omitempty"`
	Method  string    `json:"method"`
	Path    string    `json:"path"`
	// Rule and Fault name the rule that fired ("" when none did).
	Rule  string `json:"rule,omitempty"`
	Fault string `json:"fault,omitempty"`
	// Forwarded is how many times the upstream was sent the request
	// (duplicate sends more than one).
	Forwarded int `json:"forwarded"`
	// UpstreamStatus is the upstream's status for the first copy, 0 if
	// not forwarded or if it gave no HTTP answer (see UpstreamErr).
	UpstreamStatus int `json:"upstream_status"`
	// UpstreamStatuses holds every copy's status, in order, when the
	// request was forwarded more than once (0 for a copy that failed).
	UpstreamStatuses []int `json:"upstream_statuses,omitempty"`
	// UpstreamErr is the first copy's transport failure: "refused",
	// "reset", "timeout", "eof" or "other".
	UpstreamErr string `json:"upstream_err,omitempty"`
	// UpstreamDuration is the first copy's round trip.
	UpstreamDuration time.Duration `json:"upstream_ns,omitempty"`
	// UpstreamAt is when the first copy's answer (or its failure) came
	// back from the upstream; zero if nothing was forwarded. It is the
	// nearest the proxy sees to when the upstream received the request.
	UpstreamAt time.Time `json:"upstream_at,omitzero"`
	// UpstreamAts holds, like UpstreamStatuses, every copy's UpstreamAt
	// when the request was forwarded more than once.
	UpstreamAts []time.Time `json:"upstream_ats,omitempty"`
	// ClientStatus is the status the client was sent (0 when it got
	// none); ClientErr says what it got instead of a whole answer:
	// "reset", "no_answer" (silence), "truncated", "client_gone" (it left
	// before the answer was written) or "shutdown" (the proxy closed).
	ClientStatus int    `json:"client_status"`
	ClientErr    string `json:"client_err,omitempty"`
	// Duration runs from At until the answer was handed to the
	// connection (or the connection was given up).
	Duration time.Duration `json:"duration_ns"`
}

// Outcome is what the client saw, as one word: the status ("200", "503")
// or ClientErr.
func (r *AttemptRecord) Outcome() string {
	if r.ClientErr != "" {
		return r.ClientErr
	}
	return statusText(r.ClientStatus)
}

// attemptLog keeps the latest records in a ring and hands each to a hook.
type attemptLog struct {
	mu   sync.Mutex
	ring []AttemptRecord
	last uint64 // Seq of the newest record; 0 when none
	hook func(AttemptRecord)
	// metrics hears every record too (nil-safe).
	metrics *proxyMetrics
}

func newAttemptLog(size int, hook func(AttemptRecord)) *attemptLog {
	return &attemptLog{ring: make([]AttemptRecord, size), hook: hook}
}

func (l *attemptLog) add(rec *AttemptRecord) {
	l.mu.Lock()
	l.last++
	rec.Seq = l.last
	if len(l.ring) > 0 {
		l.ring[(rec.Seq-1)%uint64(len(l.ring))] = *rec
	}
	l.mu.Unlock()
	l.metrics.observe(rec)
	if l.hook != nil {
		l.hook(*rec)
	}
}

// since returns up to limit records with Seq > since, oldest first, and how
// many such records were already overwritten.
func (l *attemptLog) since(since uint64, limit int) (recs []AttemptRecord, missed uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	size := uint64(len(l.ring))
	first := uint64(1)
	if l.last > size {
		first = l.last - size + 1
	}
	from := since + 1
	if from < first {
		missed = first - from
		from = first
	}
	for s := from; s <= l.last && (limit <= 0 || len(recs) < limit); s++ {
		recs = append(recs, l.ring[(s-1)%size])
	}
	return recs, missed
}

func (l *attemptLog) reset() {
	l.mu.Lock()
	clear(l.ring)
	l.last = 0
	l.mu.Unlock()
}

// maxTrackedIDs bounds triesByID: past it the counts start over, so a long
// run's memory stays bounded (an event retried across the reset is
// numbered from 1 again).
const maxTrackedIDs = 1 << 17

// triesByID numbers the attempts of a sender that does not (no
// webhook-attempt header), by the event id Config.IDFrom finds: the nth
// request with an id is its attempt n.
type triesByID struct {
	mu sync.Mutex
	n  map[string]int
}

func (t *triesByID) next(id string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.n[id]; !ok && len(t.n) >= maxTrackedIDs {
		clear(t.n)
	}
	n := t.n[id] + 1
	t.n[id] = n
	return n
}
