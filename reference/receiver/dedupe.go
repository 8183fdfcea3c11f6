package receiver

import (
	"sync"
	"time"
)

// DedupeConfig bounds the window of webhook-ids the receiver remembers.
type DedupeConfig struct {
	// TTL is how long an id is remembered after it was first acknowledged.
	// It must cover the sender's whole retry horizon: a retry can arrive
	// days later with a fresh timestamp. Default 72h.
	TTL time.Duration
	// MaxEntries bounds memory: past it the oldest ids are evicted (and
	// counted). Default 1,000,000: about 170 MB with 30-byte ids.
	MaxEntries int
	// Path, when set, keeps the window in an append-only file so that it
	// survives a restart (see store.go).
	Path string
}

// Defaults for DedupeConfig.
const (
	DefaultDedupeTTL        = 72 * time.Hour
	DefaultDedupeMaxEntries = 1_000_000
)

// claim is what the window says about an arriving id.
type claim int

const (
	// claimFresh: first sighting; the id is now held by the caller.
	claimFresh claim = iota
	// claimDuplicate: the id was acknowledged before.
	claimDuplicate
	// claimInFlight: another request holds the id and has not answered
	// yet (processing before the ack); the outcome is still open.
	claimInFlight
)

// slot is what the window keeps per id.
type slot struct {
	at      int64  // unix nanoseconds of the first acknowledged sighting
	gen     uint64 // which queue entry is this id's (see queued)
	pending bool   // claimed, not yet acknowledged
}

// queued orders ids by arrival for eviction: ids arrive in time order, so
// the oldest is always at the head and TTL and size evictions both pop it.
type queued struct {
	id  string
	at  int64
	gen uint64 // a released and re-claimed id has two entries: gen tells the live one
}

// window is the dedupe set: a map for lookups and a FIFO for eviction,
// under one mutex. Claiming and committing an id in the same critical
// section is what makes two concurrent deliveries of one id produce exactly
// one non-duplicate.
type window struct {
	mu    sync.Mutex
	ttl   int64
	max   int
	ids   map[string]slot
	queue []queued // queue[head:] is live in arrival order
	head  int
	stale int    // queue entries whose id was released or re-inserted
	gen   uint64 // last generation handed out

	evictions uint64
	store     *store // nil without persistence; appended to under mu
}

func newWindow(cfg DedupeConfig) *window {
	return &window{
		ttl: int64(cfg.TTL),
		max: cfg.MaxEntries,
		ids: make(map[string]slot),
	}
}

// claim looks id up at time now. A fresh id is inserted, committed at once
// when final is set (the ack goes out regardless of processing), else
// pending until commit or release.
func (w *window) claim(id string, now time.Time, final bool) claim {
	t := now.UnixNano()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.expire(t)
	if s, ok := w.ids[id]; ok {
		if t-s.at < w.ttl {
			if s.pending {
				return claimInFlight
			}
			return claimDuplicate
		}
		// Expired but not yet popped (the clock went backwards or the
		// queue head is younger): forget it now.
		delete(w.ids, id)
		w.stale++
		w.evictions++
	}
	w.gen++
	w.ids[id] = slot{at: t, gen: w.gen, pending: !final}
	w.queue = append(w.queue, queued{id: id, at: t, gen: w.gen})
	if final && w.store != nil {
		w.store.append(id, t)
	}
	for len(w.ids) > w.max {
		w.popHead(true)
	}
	return claimFresh
}

// seen reports whether id is remembered (acknowledged or pending) at now,
// without claiming it.
func (w *window) seen(id string, now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.ids[id]
	return ok && now.UnixNano()-s.at < w.ttl
}

// commit turns a pending claim into a remembered id.
func (w *window) commit(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.ids[id]
	if !ok || !s.pending {
		return // evicted meanwhile (size bound): nothing to remember
	}
	s.pending = false
	w.ids[id] = s
	if w.store != nil {
		w.store.append(id, s.at)
	}
}

// release forgets a pending claim: the webhook was not acknowledged, so
// its retry must be processed, not called a duplicate.
func (w *window) release(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s, ok := w.ids[id]; ok && s.pending {
		delete(w.ids, id)
		w.stale++
		w.compactQueue()
	}
}

// expire pops ids older than the TTL. Callers hold mu.
func (w *window) expire(now int64) {
	for w.head < len(w.queue) && now-w.queue[w.head].at >= w.ttl {
		w.popHead(false)
	}
}

// popHead removes the oldest queue entry, evicting its id unless the entry
// is stale. With force it keeps popping stale entries until one id is
// evicted. Callers hold mu.
func (w *window) popHead(force bool) {
	for w.head < len(w.queue) {
		q := w.queue[w.head]
		w.queue[w.head] = queued{}
		w.head++
		if s, ok := w.ids[q.id]; ok && s.gen == q.gen {
			delete(w.ids, q.id)
			w.evictions++
			break
		}
		w.stale--
		if !force {
			break
		}
	}
	// Reclaim the popped prefix once it is half the slice, so the queue's
	// memory follows the window's size.
	if w.head > 1024 && w.head*2 > len(w.queue) {
		n := copy(w.queue, w.queue[w.head:])
		clear(w.queue[n:])
		w.queue = w.queue[:n]
		w.head = 0
	}
}

// compactQueue drops stale entries once they outnumber live ones, so
// releases cannot grow the queue without bound. Callers hold mu.
func (w *window) compactQueue() {
	if w.stale < 1024 || w.stale < len(w.ids) {
		return
	}
	kept := w.queue[:0]
	for _, q := range w.queue[w.head:] {
		if s, ok := w.ids[q.id]; ok && s.gen == q.gen {
			kept = append(kept, q)
		}
	}
	clear(w.queue[len(kept):])
	w.queue, w.head, w.stale = kept, 0, 0
}

// load inserts remembered ids (oldest first) without counting them as
// evictions or writing them back to the store.
func (w *window) load(entries []queued) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range entries {
		w.gen++
		e.gen = w.gen
		w.ids[e.id] = slot{at: e.at, gen: e.gen}
		w.queue = append(w.queue, e)
	}
}

// snapshot copies the committed ids, oldest first, for the store to
// rewrite itself from. Callers hold mu.
func (w *window) snapshot() []queued {
	out := make([]queued, 0, len(w.ids))
	for _, q := range w.queue[w.head:] {
		if s, ok := w.ids[q.id]; ok && s.gen == q.gen && !s.pending {
			out = append(out, q)
		}
	}
	return out
}

// size and evicted report the window for Stats.
func (w *window) counts() (size int, evictions uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.ids), w.evictions
}
