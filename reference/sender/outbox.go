package sender

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The outbox is a bbolt file written by one goroutine. Every change
// (ingest, claim, outcome, endpoint change, replay) is a function queued to
// that writer; the writer applies everything queued so far in one
// transaction and one fsync (group commit), and only then tells each
// caller. Concurrent ingests and delivery outcomes therefore share fsyncs,
// which is what lets a single file keep up with thousands of events per
// second while every acknowledged event is on disk.

// Bucket names.
const (
	bMeta      = "meta"
	bEndpoints = "endpoints" // endpoint id -> Endpoint (JSON)
	bEvents    = "events"    // seq -> eventRecord (never changes)
	bIDs       = "ids"       // event id -> seq
	bState     = "state"     // seq -> stateRecord
	bAttempts  = "attempts"  // seq|n -> attemptRecord
	bPending   = "pending"   // seq -> endpoint id, for events not final
	bInflight  = "inflight"  // seq -> claimRecord, attempts under way
	bDLQ       = "dlq"       // seq -> nothing, dead-lettered events
	// bDisabled lets ingest check an endpoint with one lookup instead
	// of decoding its JSON on every request.
	bDisabled = "disabled" // endpoint id -> why it is disabled
	// bSettled (retention.go): FinalAt|seq -> nothing, delivered events.
)

var bucketNames = [...]string{bMeta, bEndpoints, bEvents, bIDs, bState, bAttempts, bPending, bInflight, bDLQ, bDisabled, bSettled}

const countersKey = "counters"

// maxGroup bounds how many queued writes share one transaction, so one
// commit cannot grow without limit under a flood.
const maxGroup = 4096

// Errors the outbox returns once it stops.
var (
	ErrClosed  = errors.New("sender is shut down")
	ErrCrashed = errors.New("sender crashed")
)

// counters are kept in the same transactions as the changes they count,
// so they agree with the events after any crash.
type counters struct {
	Accepted     uint64 `json:"accepted"`
	Delivered    uint64 `json:"delivered"`
	DeadLettered uint64 `json:"dead_lettered"`
	Attempts     uint64 `json:"attempts"`
	Interrupted  uint64 `json:"interrupted"`
	Replayed     uint64 `json:"replayed"`
	// Removed counts delivered events removed by retention.
	Removed uint64 `json:"removed"`
	// Commits and Grouped describe group commit: writes per fsync.
	Commits uint64 `json:"commits"`
	Grouped uint64 `json:"grouped"`
}

// txb holds a write or read transaction's buckets.
type txb struct {
	tx                                                               *bolt.Tx
	meta, endpoints, events, ids, state, attempts, pending, inflight *bolt.Bucket
	dlq, disabled, settled                                           *bolt.Bucket
}

func bucketsOf(tx *bolt.Tx) *txb {
	t := &txb{
		tx:        tx,
		meta:      tx.Bucket([]byte(bMeta)),
		endpoints: tx.Bucket([]byte(bEndpoints)),
		events:    tx.Bucket([]byte(bEvents)),
		ids:       tx.Bucket([]byte(bIDs)),
		state:     tx.Bucket([]byte(bState)),
		attempts:  tx.Bucket([]byte(bAttempts)),
		pending:   tx.Bucket([]byte(bPending)),
		inflight:  tx.Bucket([]byte(bInflight)),
		dlq:       tx.Bucket([]byte(bDLQ)),
		disabled:  tx.Bucket([]byte(bDisabled)),
		settled:   tx.Bucket([]byte(bSettled)),
	}
	t.packAppended()
	return t
}

// txFunc is one queued change. It may be run twice (see commit), so it
// must only touch the transaction and the counters it is given, never
// memory outside; what follows a change in memory goes in its done
// callback, which runs once, after the commit.
type txFunc func(t *txb, c *counters) error

type write struct {
	fn   txFunc
	done func(error)
}

type outbox struct {
	db     *bolt.DB
	path   string
	logger *slog.Logger

	mu       sync.Mutex
	queue    []write
	stopping bool  // no new writes
	stopErr  error // what late writers are told
	crashed  bool
	durable  counters // as of the last commit
	wake     chan struct{}
	exited   chan struct{}

	// release is bbolt's count of pages allocated and the commits at the
	// last release (from the open until the first), which only the writer
	// uses (inside a transaction), and the count after releaseFree's last
	// transaction (idle: atomic, as a test calls releaseFree beside the
	// sweep loop).
	release struct {
		allocated int64
		commits   uint64
		idle      atomic.Int64
	}

	// metrics is set once, under mu, before the first write is queued;
	// the writer reads it without the lock after taking a group under it.
	metrics *senderMetrics
}

// OutboxFile is the file inside the data directory.
const OutboxFile = "outbox.db"

func openOutbox(dir string, logger *slog.Logger) (*outbox, error) {
	if dir == "" {
		return nil, errors.New("no data directory given")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	path := filepath.Join(dir, OutboxFile)
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		// Another sender holding the file is a mistake to report, not
		// to wait for.
		Timeout: time.Second,
		// The freelist is rebuilt on open instead of written on every
		// commit: commits stay small.
		NoFreelistSync: true,
		// The array freelist reuses the lowest free page first (the map
		// one takes any, in Go's random map order), so the commits
		// keep rewriting the same few pages and the other free ones,
		// a removed burst's, stay untouched and out of memory once
		// released (releaseFreePages). With the map one, the writes of
		// the next seconds touched nearly every free page again: a
		// 10-minute soak's outbox, 18.4 MB resident just after a
		// release, was back to 22.5 MB 5 s later. Its cost, a scan of
		// the free ids for a run of pages, is small at the thousands
		// of free pages a sender at a steady rate keeps.
		FreelistType: bolt.FreelistArrayType,
		// A large initial map means readers rarely block the writer
		// while the file grows.
		InitialMmapSize: 1 << 30,
	})
	if err != nil {
		return nil, fmt.Errorf("open outbox %s: %w", path, err)
	}
	o := &outbox{db: db, path: path, logger: logger, wake: make(chan struct{}, 1), exited: make(chan struct{})}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range bucketNames {
			if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
				return err
			}
		}
		if b := tx.Bucket([]byte(bMeta)).Get([]byte(countersKey)); b != nil {
			if err := json.Unmarshal(b, &o.durable); err != nil {
				return fmt.Errorf("%w: counters: %v", errCorrupt, err)
			}
		}
		return bucketsOf(tx).buildSettledIndex()
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open outbox %s: %w", path, err)
	}
	// The counters persist, bbolt's allocations count from the open: the
	// first release's allocations per commit are taken from here.
	o.release.allocated = o.allocatedPages()
	o.release.commits = o.durable.Commits
	go o.run()
	return o, nil
}

// run is the writer loop; it returns when the outbox stops.
func (o *outbox) run() {
	defer close(o.exited)
	for {
		o.mu.Lock()
		for len(o.queue) == 0 && !o.stopping {
			o.mu.Unlock()
			<-o.wake
			o.mu.Lock()
		}
		if o.crashed || (o.stopping && len(o.queue) == 0) {
			pending := o.queue
			o.queue = nil
			err := o.stopErr
			o.mu.Unlock()
			for _, w := range pending {
				w.done(err)
			}
			return
		}
		n := min(len(o.queue), maxGroup)
		group := o.queue[:n:n]
		o.queue = o.queue[n:]
		if len(o.queue) == 0 {
			o.queue = nil
		}
		o.mu.Unlock()
		o.commit(group)
	}
}

// submit queues a change; done is called once, from the writer, after
// the commit (nil) or when the change could not be made.
func (o *outbox) submit(fn txFunc, done func(error)) {
	o.mu.Lock()
	if o.stopping {
		err := o.stopErr
		o.mu.Unlock()
		// Not called here: the caller may hold a lock that done takes.
		go done(err)
		return
	}
	o.queue = append(o.queue, write{fn, done})
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// do queues a change and waits until it is durable.
func (o *outbox) do(fn txFunc) error {
	errc := make(chan error, 1)
	o.submit(fn, func(err error) { errc <- err })
	return <-errc
}

// commit applies a group in one transaction. If one change fails, the
// transaction is rolled back and every change is retried alone, so one
// bad change cannot fail its neighbours (the same contract as bbolt's
// DB.Batch).
func (o *outbox) commit(group []write) {
	o.mu.Lock()
	c := o.durable
	o.mu.Unlock()
	err := o.apply(group, &c)
	if err == nil {
		o.committed(c, group, nil)
		return
	}
	if len(group) == 1 {
		o.committed(o.durable, group, err)
		return
	}
	for _, w := range group {
		c := o.durable
		err := o.apply([]write{w}, &c)
		o.committed(c, []write{w}, err)
	}
}

func (o *outbox) apply(group []write, c *counters) error {
	start := o.metrics.commitStart()
	tx, err := o.db.Begin(true)
	if err != nil {
		return err
	}
	t := bucketsOf(tx)
	for _, w := range group {
		if err := w.fn(t, c); err != nil {
			tx.Rollback()
			return err
		}
	}
	c.Commits++
	c.Grouped += uint64(len(group))
	b, _ := json.Marshal(c)
	if err := t.meta.Put([]byte(countersKey), b); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	o.metrics.committed(len(group), start) // before the callers hear of it
	return nil
}

func (o *outbox) committed(c counters, group []write, err error) {
	if err == nil {
		o.mu.Lock()
		o.durable = c
		o.mu.Unlock()
	}
	for _, w := range group {
		w.done(err)
	}
}

// counters returns the counts as of the last commit.
func (o *outbox) counters() counters {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.durable
}

// view runs a read-only transaction.
func (o *outbox) view(fn func(t *txb) error) error {
	return o.db.View(func(tx *bolt.Tx) error { return fn(bucketsOf(tx)) })
}

// stop ends the writer. A graceful stop (crash false) commits everything
// already queued; a crash abandons it, as kill -9 would. Either way the
// file is closed and later writes fail with err.
func (o *outbox) stop(crash bool) {
	o.mu.Lock()
	if !o.stopping {
		o.stopping = true
		o.crashed = crash
		o.stopErr = ErrClosed
		if crash {
			o.stopErr = ErrCrashed
		}
	}
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
	<-o.exited
	if err := o.db.Close(); err != nil {
		o.logger.Warn("closing outbox", "path", o.path, "err", err)
	}
}
