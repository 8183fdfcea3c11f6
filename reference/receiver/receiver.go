// Package receiver is hookrig's reference webhook receiver: the way to
// receive webhooks properly, runnable as a real server and embeddable in a
// Go test or the simulator.
//
// For every request to a webhook path it verifies the Standard Webhooks
// signature and timestamp, refuses oversized and non-JSON bodies (4xx,
// never 5xx for bad input), deduplicates by webhook-id over a window that
// covers the sender's retry horizon, acknowledges before processing, and
// journals a Receipt: one JSON line per request.
package receiver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookrig/hookrig/internal/capture"
	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/reference/webhook"
)

// Config configures a Receiver. Zero values mean the defaults.
type Config struct {
	// Secrets verify signatures ("whsec_..."); any one may match, so a
	// sender rotating its secret is accepted with the old and the new.
	Secrets []string
	// Tolerance is how far a webhook-timestamp may be from now, either
	// way. Default 5 minutes.
	Tolerance time.Duration
	// Scheme names the signature scheme requests are verified with (see
	// webhook.SchemeNames); "" is Standard Webhooks. Secrets are read as
	// the scheme reads them (only standard and svix want whsec_ base64).
	// A scheme without a signed timestamp (github, shopify,
	// convoy-simple) has no replay protection but the dedupe window, whose
	// entries are timed by arrival; one without an id (slack) is accepted
	// without deduplication, counted in Stats.Undeduplicated.
	Scheme string
	// IDFrom, when set, is where the event id is read after the signature
	// verifies (header:NAME or json:PATH), instead of the scheme's own
	// place: the id that receipts carry and the dedupe window keys on.
	IDFrom webhook.IDSource
	// MaxBody is the largest body accepted (413 past it). Default 1 MiB.
	MaxBody int64
	// Dedupe bounds the window of webhook-ids remembered.
	Dedupe DedupeConfig
	// Processing is the (simulated) work done per unique webhook.
	Processing ProcessingConfig
	// RateLimit, when set, limits each webhook path's request rate,
	// answering 429 with Retry-After over it (ratelimit.go).
	RateLimit RateLimitConfig
	// JournalPath, when set, is the file receipts are appended to, one
	// JSON line each. Without it receipts are kept in memory only.
	JournalPath string
	// ReceiptLog is how many recent receipts are held in memory for
	// Receipts (older ones are read back from the journal file).
	// Default 65,536.
	ReceiptLog int
	// FlushInterval is how often the journal and the dedupe store are
	// written out. Default 1s.
	FlushInterval time.Duration
	// SyncAck acknowledges a webhook (2xx) only once its receipt, and its
	// id, are written and fsynced: a crash after the ack then forgets
	// nothing. With a journal file the receipt is the id's record too:
	// the dedupe store is fsynced every FlushInterval and brought up to
	// date from the journal at start (see store). Concurrent requests
	// share each fsync (group commit), so the cost is latency more than
	// throughput.
	// Without it, the last FlushInterval of receipts can be lost to a
	// kill -9 or power cut after they were acknowledged.
	SyncAck bool
	// OnReceipt, when set, is called with every receipt once it is
	// journaled and before the answer is written. It runs on the request's
	// goroutine, concurrently with other calls (receipts may arrive out of
	// Seq order), so it must be quick and safe for concurrent use.
	OnReceipt func(Receipt)
	// Clock tells the time (arrival, tolerance, TTL, processing). Default
	// the wall clock.
	Clock clock.Clock
	// Capture stores every webhook request whole before it is verified.
	Capture CaptureConfig
	// Seed seeds the processing step's failure draws.
	Seed uint64
	// Logger receives start-up notes and background errors. Default none.
	Logger *slog.Logger
}

// DefaultMaxBody is the default body limit.
const DefaultMaxBody = 1 << 20

// withDefaults fills zero values and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if len(c.Secrets) == 0 && !c.Capture.Only {
		return c, errors.New("receiver: at least one secret is needed (whsec_...)")
	}
	if c.Tolerance < 0 || c.MaxBody < 0 || c.Dedupe.TTL < 0 || c.Dedupe.MaxEntries < 0 || c.ReceiptLog < 0 || c.FlushInterval < 0 {
		return c, errors.New("receiver: tolerance, body limit, dedupe TTL and size, receipt log and flush interval must not be negative")
	}
	p := c.Processing
	if p.Duration < 0 || p.Workers < 0 || p.Queue < 0 {
		return c, errors.New("receiver: processing duration, workers and queue must not be negative")
	}
	if !(p.FailureRatio >= 0 && p.FailureRatio <= 1) {
		return c, fmt.Errorf("receiver: processing failure ratio %v is outside 0..1", p.FailureRatio)
	}
	var err error
	if c.RateLimit, err = c.RateLimit.withDefaults(); err != nil {
		return c, err
	}
	if c.Tolerance == 0 {
		c.Tolerance = webhook.DefaultTolerance
	}
	if c.MaxBody == 0 {
		c.MaxBody = DefaultMaxBody
	}
	if c.Dedupe.TTL == 0 {
		c.Dedupe.TTL = DefaultDedupeTTL
	}
	if c.Dedupe.MaxEntries == 0 {
		c.Dedupe.MaxEntries = DefaultDedupeMaxEntries
	}
	if c.Processing.Workers == 0 {
		c.Processing.Workers = DefaultProcessingWorkers
	}
	if c.Processing.Queue == 0 {
		c.Processing.Queue = DefaultProcessingQueue
	}
	if c.ReceiptLog == 0 {
		c.ReceiptLog = DefaultReceiptLog
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = time.Second
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Receiver receives webhooks. Create one with New, serve Handler, and
// Close it to flush the journal.
type Receiver struct {
	cfg      Config
	clock    clock.Clock
	log      *slog.Logger
	verifier *webhook.Verifier
	// scheme is nil on the Standard Webhooks fast path (the verifier
	// reads the canonical headers without allocating); any other scheme,
	// or an IDFrom other than webhook-id, goes through it.
	scheme      webhook.Scheme
	idFrom      webhook.IDSource
	window      *window
	store       *store        // nil without Dedupe.Path
	shared      *sharedWindow // nil without Dedupe.DSN
	cleanupDone chan struct{}
	journal     *journal
	process     *processor
	limiter     *pathLimiter // nil without a rate limit
	bodies      sync.Pool    // *[]byte request body buffers

	// serving is read-locked by every webhook request and write-locked by
	// Shutdown, which so waits for requests in flight; closed turns later
	// requests away with 503.
	serving sync.RWMutex
	closed  bool

	flushMu sync.Mutex // one journal/store write-out at a time
	// unwritable is set when a flush fails and cleared when one succeeds:
	// meanwhile verified webhooks are answered 503, not acknowledged.
	unwritable atomic.Bool
	commits    *groupCommit // SyncAck's group commit; nil without SyncAck
	stopFlush  chan struct{}
	flushDone  chan struct{}
	shutOnce   sync.Once
	shutErr    error

	counts  counters
	metrics *receiverMetrics

	capture *capture.Writer // nil without Capture.Path
}

// counters are the live figures behind Stats.
type counters struct {
	received, unique, duplicates, conflicts, failed, overloaded atomic.Uint64
	badSignature, badTimestamp, tooLarge, unreadable, notJSON   atomic.Uint64
	badMethod, longID, unkept, missingID, undeduplicated        atomic.Uint64
	rateLimited                                                 atomic.Uint64
	flushErrors                                                 atomic.Uint64
}

// New builds a receiver: it parses the secrets, loads the dedupe store and
// opens the journal (both carry on from a previous run), and starts the
// flusher.
func New(cfg Config) (*Receiver, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	// Under Capture.Only without secrets nothing is verified: no verifier
	// and no scheme.
	var v *webhook.Verifier
	var scheme webhook.Scheme
	if len(cfg.Secrets) > 0 {
		if standardFastPath(cfg) {
			if v, err = webhook.NewVerifier(cfg.Tolerance, cfg.Secrets...); err != nil {
				return nil, fmt.Errorf("receiver: %w", err)
			}
		}
		if scheme, err = schemeFor(cfg); err != nil {
			return nil, fmt.Errorf("receiver: %w", err)
		}
	}
	r := &Receiver{
		cfg: cfg, clock: cfg.Clock, log: cfg.Logger, verifier: v, scheme: scheme, idFrom: cfg.IDFrom,
		window:    newWindow(cfg.Dedupe),
		stopFlush: make(chan struct{}),
		flushDone: make(chan struct{}),
	}
	if scheme != nil && r.idFrom.IsNone() {
		r.idFrom = scheme.IDFrom()
	}
	r.bodies.New = func() any { b := make([]byte, 0, 4096); return &b }
	if cfg.Dedupe.DSN != "" && cfg.Dedupe.Path != "" {
		return nil, errors.New("receiver: a dedupe database (DSN) and a dedupe store file (Path) are two homes for one window; choose one")
	}
	if cfg.Dedupe.DSN != "" {
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		r.shared, err = openShared(ctx, cfg.Dedupe.DSN, cfg.Dedupe.TTL)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("receiver: %w", err)
		}
	}
	j, note, err := openJournal(cfg.JournalPath, cfg.ReceiptLog)
	if err != nil {
		if r.shared != nil {
			r.shared.close()
		}
		return nil, fmt.Errorf("receiver: %w", err)
	}
	if note != "" {
		r.log.Info("journal", "path", cfg.JournalPath, "note", note)
	}
	r.journal = j
	// closeAll undoes what New opened when a later step fails.
	closeAll := func() {
		if r.commits != nil {
			r.commits.close()
		}
		j.close()
		if r.shared != nil {
			r.shared.close()
		}
		if r.store != nil {
			r.store.close()
		}
	}
	if cfg.Dedupe.Path != "" {
		// Under SyncAck the journal backs the store (see store): the ids
		// of receipts after the store's last checkpoint come back from it.
		var replay replayFunc
		if r.journalBacksStore() {
			replay = j.replayAfter
		}
		st, kept, note, err := openStore(cfg.Dedupe.Path, cfg.Dedupe, r.clock.Now(), replay)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("receiver: %w", err)
		}
		r.window.load(kept)
		r.window.store = st
		r.store = st
		r.log.Info("dedupe store", "path", cfg.Dedupe.Path, "ids", len(kept), "note", note)
	}
	j.reserve() // a full disk shows in the first webhooks' answers, as later
	if cfg.SyncAck {
		if r.commits, err = newGroupCommit(cfg.JournalPath, syncDepth); err != nil {
			closeAll()
			return nil, fmt.Errorf("receiver: %w", err)
		}
	}
	if r.capture, err = openCapture(cfg.Capture); err != nil {
		closeAll()
		return nil, err
	}
	r.process = newProcessor(cfg.Processing, r.clock, cfg.Seed)
	r.limiter = newPathLimiter(cfg.RateLimit)
	r.metrics = newMetrics(r)
	// The first flush timer is made here, not in the goroutine, so a test
	// on a fake clock knows it exists once New returns.
	go r.flushLoop(r.clock.NewTimer(cfg.FlushInterval))
	if r.shared != nil {
		r.cleanupDone = make(chan struct{})
		go r.cleanupLoop(r.clock.NewTimer(r.shared.cleanupInterval()))
	}
	return r, nil
}

// standardFastPath reports whether cfg is plain Standard Webhooks with the
// id in webhook-id, which the allocation-free Verifier serves.
func standardFastPath(cfg Config) bool {
	name := strings.ToLower(cfg.Scheme)
	return (name == "" || name == webhook.DefaultScheme) &&
		(cfg.IDFrom.IsNone() || strings.EqualFold(cfg.IDFrom.Header, keyID))
}

// schemeFor builds the scheme of cfg, or nil for the fast path.
func schemeFor(cfg Config) (webhook.Scheme, error) {
	if standardFastPath(cfg) {
		return nil, nil
	}
	return webhook.NewScheme(cfg.Scheme, webhook.Options{Secrets: cfg.Secrets, Tolerance: cfg.Tolerance})
}

// flushLoop writes the journal and the dedupe store out every
// FlushInterval, and sooner when the journal buffer fills up. After a
// failed flush it retries on its own timer, backing off from a sixteenth
// of FlushInterval up to FlushInterval, and ignores the buffer's kicks: a
// full disk is not retried once per request.
func (r *Receiver) flushLoop(t clock.Timer) {
	defer close(r.flushDone)
	var backoff time.Duration // > 0 while flushes fail
	for {
		select {
		case <-r.stopFlush:
			t.Stop()
			return
		case <-t.C():
			// Flush before arming the next timer: a test on a fake clock
			// that sees the timer created knows the flush is done.
			next := r.cfg.FlushInterval
			if r.flush() != nil {
				backoff = min(max(2*backoff, r.cfg.FlushInterval/16), r.cfg.FlushInterval)
				next = backoff
			} else {
				backoff = 0
			}
			t = r.clock.NewTimer(next)
		case <-r.journal.kick:
			if backoff == 0 && r.flush() != nil {
				backoff = r.cfg.FlushInterval / 16
				t.Stop()
				t = r.clock.NewTimer(backoff)
			}
		}
	}
}

// cleanupLoop deletes expired ids from the shared dedupe table every
// cleanupInterval, until Shutdown. Every instance runs it: the deletes are
// bounded batches and idempotent, so running it twice costs little.
func (r *Receiver) cleanupLoop(t clock.Timer) {
	defer close(r.cleanupDone)
	for r.waitTimer(t) {
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		n, err := r.shared.cleanup(ctx, r.clock.Now())
		cancel()
		if err != nil {
			r.log.Error("dedupe database clean-up failed", "err", err)
		} else if n > 0 {
			r.log.Info("dedupe database clean-up", "expired", n)
		}
		t = r.clock.NewTimer(r.shared.cleanupInterval())
	}
}

// waitTimer waits for t to fire (true) or for Shutdown (false).
func (r *Receiver) waitTimer(t clock.Timer) bool {
	select {
	case <-t.C():
		return true
	case <-r.stopFlush:
		t.Stop()
		return false
	}
}

// flush writes out the journal and the store; errors are logged and
// counted, and the unwritten data kept for the next try.
//
// When the journal backs the dedupe store (SyncAck), this is where the
// store is fsynced and checkpointed, once a flush interval rather than
// before every ack.
func (r *Receiver) flush() error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	var covered uint64
	backs := r.journalBacksStore()
	if backs {
		covered, _ = r.journal.status() // read before the store's lines are taken
	}
	err := r.writeOut(covered, backs)
	r.flushed(err)
	return err
}

// journalBacksStore says whether acks wait for the journal's fsync only,
// the dedupe store being rebuilt from the journal at start (see store).
func (r *Receiver) journalBacksStore() bool {
	return r.cfg.SyncAck && r.cfg.JournalPath != "" && r.cfg.Dedupe.Path != ""
}

// writeOut writes the journal, the capture and the dedupe store out,
// without fsync but for the store's with syncStore (its checkpoint then
// says covered). Callers hold flushMu.
func (r *Receiver) writeOut(covered uint64, syncStore bool) error {
	err := r.journal.flush(false)
	if r.capture != nil {
		// A capture that cannot be written is logged, not a reason to stop
		// acknowledging: the journal is what the acks promise.
		if cerr := r.capture.Flush(); cerr != nil {
			r.log.Error("capture flush failed", "err", cerr)
		}
	}
	if r.store != nil {
		err = errors.Join(err, r.store.flush(r.window, covered, syncStore))
	}
	return err
}

// flushed counts and logs the outcome of a write-out (and fsync): after a
// failure verified webhooks are answered 503 until one succeeds.
func (r *Receiver) flushed(err error) {
	if err != nil {
		r.counts.flushErrors.Add(1)
		if !r.unwritable.Swap(true) {
			r.log.Error("flush failed: answering webhooks 503 until a flush succeeds", "err", err)
		}
		return
	}
	if r.unwritable.Swap(false) {
		r.log.Info("flush succeeded: acknowledging webhooks again")
	}
}

// Close shuts the receiver down, waiting for processing to finish, and
// flushes and fsyncs the journal and the dedupe store.
func (r *Receiver) Close() error { return r.Shutdown(context.Background()) }

// Shutdown turns new requests away (503), waits for requests in flight,
// then for acknowledged webhooks to be processed until ctx ends (those
// left are cancelled and counted abandoned), then flushes, fsyncs and
// closes the journal and the dedupe store. Only the first call does work.
func (r *Receiver) Shutdown(ctx context.Context) error {
	r.shutOnce.Do(func() {
		r.serving.Lock()
		r.closed = true
		r.serving.Unlock()
		err := r.process.shutdown(ctx)
		if err != nil {
			err = fmt.Errorf("receiver: processing cut short: %w", err)
		}
		close(r.stopFlush)
		<-r.flushDone
		if r.shared != nil {
			<-r.cleanupDone
			r.shared.close()
		}
		if r.commits != nil {
			r.commits.running.Wait() // the last group's hand-off may still be ending
			r.commits.close()
		}
		r.flushMu.Lock()
		defer r.flushMu.Unlock()
		err = errors.Join(err, r.journal.close())
		if r.capture != nil {
			err = errors.Join(err, r.capture.Close())
		}
		if r.store != nil {
			// The second write carries the checkpoint the first queued.
			last, _ := r.journal.status()
			err = errors.Join(err, r.store.flush(r.window, last, true), r.store.flush(r.window, 0, true), r.store.close())
		}
		r.shutErr = err
	})
	return r.shutErr
}

// Receipts returns up to limit receipts with seq > since, in seq order
// (limit <= 0: all held). Recent receipts come from memory, older ones
// from the journal file; without a journal only the last ReceiptLog are
// held.
func (r *Receiver) Receipts(since uint64, limit int) []Receipt {
	out, err := r.journal.receipts(since, limit)
	if err != nil {
		r.log.Error("reading receipts", "err", err)
	}
	return out
}

// Stats are the receiver's counters since it started. Every request to a
// webhook path is counted once in Received and once in exactly one of
// Unique, Duplicates, Rejected, Conflicts, Failed, Overloaded and Unkept.
type Stats struct {
	Received   uint64 `json:"received"`
	Unique     uint64 `json:"unique"`     // first sightings acknowledged (2xx)
	Duplicates uint64 `json:"duplicates"` // repeats acknowledged (2xx) and not processed again
	Rejected   uint64 `json:"rejected"`   // bad input answered 4xx (see RejectedBy)
	Conflicts  uint64 `json:"conflicts"`  // repeats while the first was still processed before its ack (409)
	Failed     uint64 `json:"failed"`     // processing before the ack failed (500)
	Overloaded uint64 `json:"overloaded"` // processing queue full (503)
	Unkept     uint64 `json:"unkept"`     // verified, but the journal could not be written (503): not acknowledged, not remembered
	// RateLimited were over their path's rate limit (429, RateLimit); they
	// count in Received, not in Rejected.
	RateLimited uint64 `json:"rate_limited,omitempty"`
	Evictions   uint64 `json:"evictions"` // ids dropped from the dedupe window by TTL or size
	// Undeduplicated counts the webhooks among Unique that carried no
	// event id (a slack-scheme request, a convoy one without
	// X-Convoy-Event-ID): accepted and processed without deduplication, so
	// a replay or a retry of one is processed again.
	Undeduplicated uint64 `json:"undeduplicated"`

	RejectedBy RejectedStats   `json:"rejected_by"`
	Window     int             `json:"window"` // ids in the dedupe window now
	Processing ProcessingStats `json:"processing"`
	Journal    JournalStats    `json:"journal"`
	Capture    *CaptureStats   `json:"capture,omitempty"`
}

// RejectedStats breaks Rejected down by reason.
type RejectedStats struct {
	Signature  uint64 `json:"signature"`  // 401: missing headers or no matching signature
	Timestamp  uint64 `json:"timestamp"`  // 400: unreadable or outside the tolerance
	TooLarge   uint64 `json:"too_large"`  // 413
	Unreadable uint64 `json:"unreadable"` // 400: the body could not be read (cut short, bad chunking)
	NotJSON    uint64 `json:"not_json"`   // 400
	Method     uint64 `json:"method"`     // 405: not a POST
	LongID     uint64 `json:"long_id"`    // 400: a webhook-id over 256 bytes
	MissingID  uint64 `json:"missing_id"` // 400: signed, but no event id where the scheme or IDFrom keeps it
}

// ProcessingStats counts processing steps.
type ProcessingStats struct {
	Done      uint64 `json:"done"`
	Failed    uint64 `json:"failed"`    // after the ack these are the receiver's own problem
	Abandoned uint64 `json:"abandoned"` // acknowledged, cut short by shutdown
	Pending   int64  `json:"pending"`   // acknowledged, not yet processed
}

// JournalStats describes the journal.
type JournalStats struct {
	Path        string `json:"path,omitempty"`
	LastSeq     uint64 `json:"last_seq"`
	Buffered    int    `json:"buffered_bytes"`
	FlushErrors uint64 `json:"flush_errors"`
	// Unwritable says the last flush failed: webhooks are answered 503
	// until one succeeds.
	Unwritable bool `json:"unwritable"`
}

// Stats returns the counters now.
func (r *Receiver) Stats() Stats {
	c := &r.counts
	size, ev := r.window.counts()
	last, buffered := r.journal.status()
	s := Stats{
		Received:       c.received.Load(),
		Unique:         c.unique.Load(),
		Duplicates:     c.duplicates.Load(),
		Conflicts:      c.conflicts.Load(),
		Failed:         c.failed.Load(),
		Overloaded:     c.overloaded.Load(),
		Unkept:         c.unkept.Load(),
		RateLimited:    c.rateLimited.Load(),
		Evictions:      ev,
		Undeduplicated: c.undeduplicated.Load(),
		RejectedBy: RejectedStats{
			Signature:  c.badSignature.Load(),
			Timestamp:  c.badTimestamp.Load(),
			TooLarge:   c.tooLarge.Load(),
			Unreadable: c.unreadable.Load(),
			NotJSON:    c.notJSON.Load(),
			Method:     c.badMethod.Load(),
			LongID:     c.longID.Load(),
			MissingID:  c.missingID.Load(),
		},
		Window: size,
		Processing: ProcessingStats{
			Done:      r.process.done.Load(),
			Failed:    r.process.failed.Load(),
			Abandoned: r.process.abandoned.Load(),
			Pending:   r.process.inProgress(),
		},
		Capture: r.captureStats(),
		Journal: JournalStats{Path: r.cfg.JournalPath, LastSeq: last, Buffered: buffered, FlushErrors: c.flushErrors.Load(), Unwritable: r.unwritable.Load()},
	}
	rb := s.RejectedBy
	s.Rejected = rb.Signature + rb.Timestamp + rb.TooLarge + rb.Unreadable + rb.NotJSON + rb.Method + rb.LongID + rb.MissingID
	return s
}
