package receiver

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
)

// ProcessingConfig describes the work done for each unique webhook. By
// default it is simulated: wait Duration, then fail with FailureRatio.
type ProcessingConfig struct {
	// Duration of the simulated work.
	Duration time.Duration
	// FailureRatio is the share of processing steps that fail (0..1),
	// drawn from the receiver's seeded source.
	FailureRatio float64
	// BeforeAck processes before answering: the wrong way, to show what it
	// costs. A failure then answers 500 (and the sender retries) and the
	// duration delays every ack. By default the ack goes out first.
	BeforeAck bool
	// Workers process acknowledged webhooks concurrently (after the ack).
	// Default 64.
	Workers int
	// Queue bounds acknowledged webhooks not yet processed (waiting for a
	// worker or being worked on); when it is full the receiver answers 503 with Retry-After before acknowledging,
	// rather than promise work it has no room for. Default 65,536.
	Queue int
	// Func, when set, replaces the simulated step (tests and embedders
	// plug real work in here). It must honour ctx, cancelled when a
	// shutdown runs out of time.
	Func func(ctx context.Context, d Delivery) error
}

// Delivery is one unique webhook handed to processing.
type Delivery struct {
	// Receipt is the webhook's receipt; its Seq is 0 before the ack (it
	// is journaled with the answer, which waits for processing then).
	Receipt Receipt
	// Body is the verified payload; it is the processor's to keep.
	Body []byte
}

// Defaults for ProcessingConfig.
const (
	DefaultProcessingWorkers = 64
	DefaultProcessingQueue   = 1 << 16
)

// ErrSimulatedFailure is what the simulated processing step fails with.
var ErrSimulatedFailure = errors.New("processing failed (simulated)")

// seedStream is the PCG's second word, fixed so that one seed names one
// sequence of draws.
const seedStream = 0x686f6f6b72696721 // "hookrig!"

// processor runs the processing step, inline or on a worker pool.
type processor struct {
	cfg   ProcessingConfig
	clock clock.Clock

	rndMu sync.Mutex
	rnd   *rand.Rand

	// async: acknowledged deliveries wait in jobs for a worker; queued
	// counts them from reserve to the end of their step, so the handler
	// can refuse before its ack when there is no room.
	async  bool
	jobs   chan Delivery
	queued atomic.Int64
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc

	done, failed, abandoned atomic.Uint64
}

func newProcessor(cfg ProcessingConfig, clk clock.Clock, seed uint64) *processor {
	ctx, cancel := context.WithCancel(context.Background())
	p := &processor{
		cfg: cfg, clock: clk,
		rnd:    rand.New(rand.NewPCG(seed, seedStream)),
		ctx:    ctx,
		cancel: cancel,
		// Work that takes time, or is not ours, goes to workers so the ack
		// is not held up by it; an instant simulated step runs inline
		// after the ack (a channel hop would cost more than the step).
		async: !cfg.BeforeAck && (cfg.Duration > 0 || cfg.Func != nil),
	}
	if p.async {
		p.jobs = make(chan Delivery, cfg.Queue)
		for range cfg.Workers {
			p.wg.Add(1)
			go p.work()
		}
	}
	return p
}

// reserve takes a queue slot for a delivery about to be acknowledged.
func (p *processor) reserve() bool {
	if !p.async {
		return true
	}
	if p.queued.Add(1) > int64(p.cfg.Queue) {
		p.queued.Add(-1)
		return false
	}
	return true
}

// unreserve gives back a slot reserve took.
func (p *processor) unreserve() {
	if p.async {
		p.queued.Add(-1)
	}
}

// submit hands an acknowledged delivery over; it holds a reserved slot.
func (p *processor) submit(d Delivery) {
	if p.async {
		p.jobs <- d // never blocks: the slot was reserved
		return
	}
	p.run(p.ctx, d)
}

func (p *processor) work() {
	defer p.wg.Done()
	for d := range p.jobs {
		p.run(p.ctx, d)
		p.queued.Add(-1)
	}
}

// run processes one delivery and counts the outcome.
func (p *processor) run(ctx context.Context, d Delivery) error {
	err := p.step(ctx, d)
	switch {
	case err == nil:
		p.done.Add(1)
	case ctx.Err() != nil:
		p.abandoned.Add(1)
	default:
		p.failed.Add(1)
	}
	return err
}

func (p *processor) step(ctx context.Context, d Delivery) error {
	if p.cfg.Func != nil {
		return p.cfg.Func(ctx, d)
	}
	if !clock.Sleep(p.clock, p.cfg.Duration, ctx.Done()) {
		return ctx.Err()
	}
	if p.cfg.FailureRatio > 0 {
		p.rndMu.Lock()
		fail := p.rnd.Float64() < p.cfg.FailureRatio
		p.rndMu.Unlock()
		if fail {
			return ErrSimulatedFailure
		}
	}
	return nil
}

// shutdown stops taking work and waits for the queue to drain; when ctx
// ends first, in-progress steps are cancelled (and counted abandoned:
// acknowledged but never processed, the price of a fast ack without a
// durable queue).
func (p *processor) shutdown(ctx context.Context) error {
	if !p.async {
		p.cancel()
		return nil
	}
	close(p.jobs)
	drained := make(chan struct{})
	go func() { p.wg.Wait(); close(drained) }()
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		err = ctx.Err()
		p.cancel()
		<-drained
	}
	p.cancel()
	return err
}

// inProgress counts deliveries acknowledged and not yet processed.
func (p *processor) inProgress() int64 { return p.queued.Load() }
