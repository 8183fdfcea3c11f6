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
	// DSN, when set (postgres://...), keeps the window in PostgreSQL
	// instead, shared by every receiver using that database: see
	// shared.go. MaxEntries and Path then do not apply.
	DSN string
}

// Defaults for DedupeConfig.
const (
	DefaultDedupeTTL        = 72 * time.Hour
	DefaultDedupeMaxEntries = 1_000_000
)

// Sighting is what the dedupe window says about an arriving webhook-id.
type Sighting int

const (
	// Fresh: first sighting; the id is now held by the caller.
	Fresh Sighting = iota
	// Duplicate: the id was acknowledged before.
	Duplicate
	// InFlight: another request holds the id and has not answered yet
	// (processing before the ack, or waiting for its receipt's fsync);
	// the outcome is still open.
	InFlight
)

// slot is what the window keeps per id.
type slot struct {
	at      int64  // unix nanoseconds of the first acknowledged sighting
	gen     uint64 // which queue entry is this id's (see entry)
	pending bool   // claimed, not yet acknowledged
}

// entry orders ids by arrival for eviction: ids arrive in time order, so
// the oldest is always at the head and TTL and size evictions both pop it.
type entry[K comparable] struct {
	id  K
	at  int64
	gen uint64 // a released and re-claimed id has two entries: gen tells the live one
}

// queued is the live receiver's entry: webhook-ids as they arrive.
type queued = entry[string]

// Window is the dedupe decision, pure: a map for lookups and a FIFO for
// eviction, over (webhook-id, time). It does no I/O, reads no clock (the
// caller passes the time) and takes no lock (the caller holds one), so the
// live receiver and the virtual-time model decide alike.
//
// An id is claimed (Fresh: the caller holds it), then either committed
// (remembered: later sightings are Duplicate) or released (forgotten: a
// retry is Fresh again). A claim may be final at once when the ack does
// not depend on anything that could still fail.
//
// It is generic over the id's type so that each caller keys it by what
// names a webhook for it: the live receiver by the webhook-id string it
// reads, the virtual-time model by the event's number (whose decimal is
// the id's suffix, so both name the same webhooks), which spares the
// model formatting and hashing a string per delivery. The decision is
// the same code for both.
type Window[K comparable] struct {
	ttl   int64
	max   int
	ids   table[K]
	queue fifo[entry[K]] // ids in arrival order
	stale int            // queue entries whose id was released or re-inserted
	gen   uint64         // last generation handed out

	evictions uint64
}

// NewWindow remembers ids for ttl, at most maxEntries of them, in a
// hash map.
func NewWindow[K comparable](ttl time.Duration, maxEntries int) *Window[K] {
	return &Window[K]{ttl: int64(ttl), max: maxEntries, ids: mapTable[K]{}}
}

// NewNumberedWindow is NewWindow for ids that are numbers handed out
// densely in arrival order (a simulator's deliveries to one receiver,
// numbered 0, 1, 2...): it keeps the slots in pages by number rather than
// in a hash map. The decisions are the same; only the lookup differs:
// a million ids in a hash map cost a cache miss per lookup, where
// numbers close in arrival order share a page.
func NewNumberedWindow(ttl time.Duration, maxEntries int) *Window[uint64] {
	return &Window[uint64]{ttl: int64(ttl), max: maxEntries, ids: &pagedTable{}}
}

// table is where a Window keeps the slot of each id it holds.
type table[K comparable] interface {
	get(id K) (slot, bool)
	set(id K, s slot)
	del(id K)
	len() int
}

// mapTable is a table for any ids: the live receiver's webhook-ids.
type mapTable[K comparable] map[K]slot

func (m mapTable[K]) get(id K) (slot, bool) { s, ok := m[id]; return s, ok }
func (m mapTable[K]) set(id K, s slot)      { m[id] = s }
func (m mapTable[K]) del(id K)              { delete(m, id) }
func (m mapTable[K]) len() int              { return len(m) }

// pagedTable is a table for dense numbers: pages of pageSlots slots,
// found by page number in a slice over the pages from the oldest held to
// the newest (an index, not a hash: the simulator claims an id and evicts
// the oldest on every delivery, two pages apart, and a map lookup for
// each was a twentieth of a fleet's run). A page is freed once it holds
// no id, and the empty ends of the slice are trimmed, so memory follows
// the ids held: their slots, and a pointer per page of numbers between
// the oldest and the newest.
type pagedTable struct {
	pages []*slotPage // pages[i] holds the numbers of page first+i; nil: none held
	first uint64
	// spare is a freed page (all its slots zero again), for the next
	// page needed: a long run fills a page every pageSlots deliveries.
	spare *slotPage
	n     int
}

const pageShift = 10
const pageSlots = 1 << pageShift

type slotPage struct {
	slots [pageSlots]pagedSlot
	n     int
}

// pagedSlot is a slot and whether its number is held, in the slot's
// padding.
type pagedSlot struct {
	at      int64
	gen     uint64
	pending bool
	held    bool
}

func (t *pagedTable) page(id uint64) *slotPage {
	n := id >> pageShift
	if n < t.first || n-t.first >= uint64(len(t.pages)) {
		return nil
	}
	return t.pages[n-t.first]
}

func (t *pagedTable) get(id uint64) (slot, bool) {
	p := t.page(id)
	if p == nil {
		return slot{}, false
	}
	ps := &p.slots[id&(pageSlots-1)]
	return slot{at: ps.at, gen: ps.gen, pending: ps.pending}, ps.held
}

func (t *pagedTable) set(id uint64, s slot) {
	p := t.page(id)
	if p == nil {
		p = t.newPage(id >> pageShift)
	}
	ps := &p.slots[id&(pageSlots-1)]
	if !ps.held {
		p.n++
		t.n++
	}
	*ps = pagedSlot{at: s.at, gen: s.gen, pending: s.pending, held: true}
}

// newPage makes page n, growing the slice to reach it.
func (t *pagedTable) newPage(n uint64) *slotPage {
	p := t.spare
	t.spare = nil
	if p == nil {
		p = new(slotPage)
	}
	switch {
	case len(t.pages) == 0:
		t.first = n
		t.pages = append(t.pages[:0], p)
		return p
	case n < t.first:
		// Older than every page held (a straggler's retry): rare, so the
		// slice is made again with room in front.
		pages := make([]*slotPage, t.first-n, uint64(len(t.pages))+t.first-n)
		t.pages, t.first = append(pages, t.pages...), n
	}
	for n-t.first >= uint64(len(t.pages)) {
		t.pages = append(t.pages, nil)
	}
	t.pages[n-t.first] = p
	return p
}

func (t *pagedTable) del(id uint64) {
	p := t.page(id)
	if p == nil || !p.slots[id&(pageSlots-1)].held {
		return
	}
	p.slots[id&(pageSlots-1)] = pagedSlot{}
	p.n--
	t.n--
	if p.n > 0 {
		return
	}
	// Every slot is zero again: the page is the spare.
	t.pages[id>>pageShift-t.first] = nil
	t.spare = p
	for len(t.pages) > 0 && t.pages[0] == nil {
		t.pages, t.first = t.pages[1:], t.first+1
	}
	for len(t.pages) > 0 && t.pages[len(t.pages)-1] == nil {
		t.pages = t.pages[:len(t.pages)-1]
	}
}

func (t *pagedTable) len() int { return t.n }

// Claim looks id up at time now. A fresh id is inserted, committed at once
// when final is set, else pending until Commit or Release.
func (w *Window[K]) Claim(id K, now time.Time, final bool) Sighting {
	t := now.UnixNano()
	w.expire(t)
	if s, ok := w.ids.get(id); ok {
		if t-s.at < w.ttl {
			if s.pending {
				return InFlight
			}
			return Duplicate
		}
		// Expired but not yet popped (the clock went backwards or the
		// queue head is younger): forget it now.
		w.ids.del(id)
		w.stale++
		w.evictions++
	}
	w.gen++
	w.ids.set(id, slot{at: t, gen: w.gen, pending: !final})
	w.queue.push(entry[K]{id: id, at: t, gen: w.gen})
	for w.ids.len() > w.max {
		w.popHead(true)
	}
	return Fresh
}

// Seen reports whether id is remembered (acknowledged or pending) at now,
// without claiming it.
func (w *Window[K]) Seen(id K, now time.Time) bool {
	s, ok := w.ids.get(id)
	return ok && now.UnixNano()-s.at < w.ttl
}

// Commit turns a pending claim into a remembered id and returns its claim
// time; ok is false if there was no pending claim (evicted meanwhile by
// the size bound: nothing to remember).
func (w *Window[K]) Commit(id K) (at int64, ok bool) {
	s, ok := w.ids.get(id)
	if !ok || !s.pending {
		return 0, false
	}
	s.pending = false
	w.ids.set(id, s)
	return s.at, true
}

// Release forgets a pending claim, returning its claim time: the webhook
// was not acknowledged, so its retry must be processed, not called a
// duplicate. ok is false if there was no pending claim.
func (w *Window[K]) Release(id K) (at int64, ok bool) {
	s, ok := w.ids.get(id)
	if !ok || !s.pending {
		return 0, false
	}
	w.ids.del(id)
	w.stale++
	w.compactQueue()
	return s.at, true
}

// Len is the number of ids held (remembered or pending).
func (w *Window[K]) Len() int { return w.ids.len() }

// Evictions counts ids dropped by the TTL or the size bound.
func (w *Window[K]) Evictions() uint64 { return w.evictions }

// expire pops ids older than the TTL.
func (w *Window[K]) expire(now int64) {
	for w.queue.len() > 0 && now-w.queue.front().at >= w.ttl {
		w.popHead(false)
	}
}

// popHead removes the oldest queue entry, evicting its id unless the entry
// is stale. With force it keeps popping stale entries until one id is
// evicted.
func (w *Window[K]) popHead(force bool) {
	for w.queue.len() > 0 {
		q := *w.queue.front()
		w.queue.pop()
		if s, ok := w.ids.get(q.id); ok && s.gen == q.gen {
			w.ids.del(q.id)
			w.evictions++
			break
		}
		w.stale--
		if !force {
			break
		}
	}
}

// compactQueue drops stale entries once they outnumber live ones, so
// releases cannot grow the queue without bound.
func (w *Window[K]) compactQueue() {
	if w.stale < 1024 || w.stale < w.ids.len() {
		return
	}
	var kept fifo[entry[K]]
	w.queue.all(func(q *entry[K]) {
		if s, ok := w.ids.get(q.id); ok && s.gen == q.gen {
			kept.push(*q)
		}
	})
	w.queue, w.stale = kept, 0
}

// load inserts remembered ids (oldest first).
func (w *Window[K]) load(entries []entry[K]) {
	for _, e := range entries {
		w.gen++
		e.gen = w.gen
		w.ids.set(e.id, slot{at: e.at, gen: e.gen})
		w.queue.push(e)
	}
}

// snapshot copies the committed ids, oldest first, and the pending ones
// too with pending.
func (w *Window[K]) snapshot(pending bool) []entry[K] {
	out := make([]entry[K], 0, w.ids.len())
	w.queue.all(func(q *entry[K]) {
		if s, ok := w.ids.get(q.id); ok && s.gen == q.gen && (pending || !s.pending) {
			out = append(out, *q)
		}
	})
	return out
}

// window is the receiver's Window: under one mutex (claiming and
// committing an id in one critical section is what makes two concurrent
// deliveries of one id produce exactly one non-duplicate), and written to
// the dedupe store (when there is one) as ids become remembered.
type window struct {
	mu    sync.Mutex
	core  *Window[string]
	store *store // nil without persistence; appended to under mu
}

func newWindow(cfg DedupeConfig) *window {
	return &window{core: NewWindow[string](cfg.TTL, cfg.MaxEntries)}
}

// claim claims id at now; a final claim is written to the store at once.
func (w *window) claim(id string, now time.Time, final bool) Sighting {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.core.Claim(id, now, final)
	if c == Fresh && final && w.store != nil {
		w.store.append(id, now.UnixNano())
	}
	return c
}

// claimDurable claims id, pending, and writes it to the store already, so
// that the fsync a SyncAck answer waits for covers it; settle then
// commits it (kept) or releases it and writes a tombstone (not kept).
func (w *window) claimDurable(id string, now time.Time) Sighting {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.core.Claim(id, now, false)
	if c == Fresh && w.store != nil {
		w.store.append(id, now.UnixNano())
	}
	return c
}

// persist writes a pending claim to the store without committing it (see
// claimDurable).
func (w *window) persist(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s, ok := w.core.ids.get(id); ok && s.pending && w.store != nil {
		w.store.append(id, s.at)
	}
}

// settle ends a claim made by claimDurable (or persisted): committed when
// its receipt was kept, else released with a tombstone in the store.
func (w *window) settle(id string, kept bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if kept {
		w.core.Commit(id)
		return
	}
	if at, ok := w.core.Release(id); ok && w.store != nil {
		w.store.tombstone(id, at)
	}
}

// seen reports whether id is held at now.
func (w *window) seen(id string, now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.core.Seen(id, now)
}

// commit turns a pending claim into a remembered id, in the store too.
func (w *window) commit(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if at, ok := w.core.Commit(id); ok && w.store != nil {
		w.store.append(id, at)
	}
}

// release forgets a pending claim.
func (w *window) release(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.core.Release(id)
}

// load inserts remembered ids (oldest first) without counting them as
// evictions or writing them back to the store.
func (w *window) load(entries []queued) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.core.load(entries)
}

// snapshot copies the ids for the store. Callers hold mu. With pending,
// the pending claims too: under SyncAck each was written to the store
// when claimed and gets a tombstone if released, so a compacted store
// keeps what the log said (without them, a receipt acknowledged after
// the compaction would be missing from the store).
func (w *window) snapshot(pending bool) []queued { return w.core.snapshot(pending) }

// counts reports the window for Stats.
func (w *window) counts() (size int, evictions uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.core.Len(), w.core.Evictions()
}
