package verdict

import "fmt"

// Pipe is a Checker fed by one goroutine and worked by another: the feeder
// queues each record and goes on, and the Pipe's own goroutine applies the
// records, in the order sent, as the *Ref methods would. The virtual
// engine's event loop is one goroutine; the checker's share of its work
// (14% of a fleet run's profile, and the cache misses on its tables)
// moves to the machine's other core. Records are applied in the order
// they were sent, so the Checker ends exactly as if the feeder had
// recorded through it itself; Sync waits for that, and after Sync the
// feeder may read the Checker (Progress, Result). Nothing else may record
// through the Checker while its Pipe is open. Close stops the goroutine;
// every Pipe must be closed.
//
// A Pipe hands out Refs of its own (the applier keeps the Checker's Ref
// for each): the feeder cannot wait to learn where the Checker put an
// event. A Pipe Ref is the Pipe's until the Checker settles its event;
// the applier then hands it back, to be given to a later event once the
// batch holding the settling record is back. So the feeder must send no
// record naming a Ref after the one that settles its event (its final
// state with no hold left, or the last Release after it), as it must not
// through the Checker's own Refs.
type Pipe struct {
	c *Checker

	// The pipeBatches batches: the one being filled, those sent to the
	// applier, and those back (applied) or never sent.
	cur  *pipeBatch
	full chan *pipeBatch // to the applier, in order
	free chan *pipeBatch // back from the applier, or never sent
	done chan struct{}   // closed when the applier has stopped

	vacant []Ref // Refs the applier handed back
	next   Ref   // Refs ever handed out
	err    error // the first record the Checker refused
	closed bool
}

// pipeBatches is how many batches a Pipe has: the feeder runs at most
// that many less one ahead of the applier before it waits for one back.
const pipeBatches = 8

// pipeBatchLen is how many records a batch carries: enough that handing
// one over (waking the applier, at most) costs little per record. With
// 1,024 a fleet-day run spent 1.0 to 1.3 s in the kernel, with 4,096 0.5.
const pipeBatchLen = 4096

type pipeKind uint8

const (
	pipeNewRef pipeKind = iota + 1
	pipeAccept
	pipeAttempt
	pipeReceipt
	pipeFinal
	pipeHold
	pipeRelease
)

func (k pipeKind) String() string {
	switch k {
	case pipeNewRef:
		return "new-ref"
	case pipeAccept:
		return "accept"
	case pipeAttempt:
		return "attempt"
	case pipeReceipt:
		return "receipt"
	case pipeFinal:
		return "final"
	case pipeHold:
		return "hold"
	case pipeRelease:
		return "release"
	}
	return "unknown"
}

// pipeOp is one record: what and about which event; the record's body, if
// it has one, is the next of its kind in the batch.
type pipeOp struct {
	kind pipeKind
	ref  Ref
}

// pipeBatch is records on their way to the applier, and on the way back
// the Refs their records settled and the first error.
type pipeBatch struct {
	ops      []pipeOp
	ids      []string
	accepts  []Accepted
	attempts []AttemptRec
	receipts []ReceiptRec
	finals   []Final

	freed []Ref
	err   error
}

// fail keeps the batch's first error.
func (b *pipeBatch) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// reset empties b. (What its records pointed at, ids and reasons, stays
// reachable until they are overwritten: a few batches' worth, not worth
// clearing for.)
func (b *pipeBatch) reset() {
	b.ops, b.ids, b.accepts = b.ops[:0], b.ids[:0], b.accepts[:0]
	b.attempts, b.receipts, b.finals = b.attempts[:0], b.receipts[:0], b.finals[:0]
	b.freed, b.err = b.freed[:0], nil
}

// Pipe starts the Checker's applier goroutine (see Pipe).
func (c *Checker) Pipe() *Pipe {
	p := &Pipe{
		c:    c,
		full: make(chan *pipeBatch, pipeBatches),
		free: make(chan *pipeBatch, pipeBatches),
		done: make(chan struct{}),
	}
	for range pipeBatches {
		p.free <- &pipeBatch{ops: make([]pipeOp, 0, pipeBatchLen)}
	}
	p.cur = p.batch()
	go p.apply()
	return p
}

// batch returns the next free batch, empty, waiting for the applier to
// hand one back if none is, and takes in what came back with it (the
// Refs its records settled, the first error).
func (p *Pipe) batch() *pipeBatch {
	b := <-p.free
	p.vacant = append(p.vacant, b.freed...)
	if p.err == nil {
		p.err = b.err
	}
	b.reset()
	return b
}

// send hands the current batch to the applier if it is full (force: if it
// holds anything).
func (p *Pipe) send(force bool) {
	if len(p.cur.ops) < pipeBatchLen && (!force || len(p.cur.ops) == 0) {
		return
	}
	p.full <- p.cur
	p.cur = p.batch()
}

func (p *Pipe) op(k pipeKind, r Ref) {
	p.cur.ops = append(p.cur.ops, pipeOp{kind: k, ref: r})
	p.send(false)
}

// NewRef is Checker.NewRef, the Ref the Pipe's own.
func (p *Pipe) NewRef(id string) Ref {
	var r Ref
	if k := len(p.vacant); k > 0 {
		r, p.vacant = p.vacant[k-1], p.vacant[:k-1]
	} else {
		r = p.next
		p.next++
	}
	p.cur.ids = append(p.cur.ids, id)
	p.op(pipeNewRef, r)
	return r
}

// Accept is Checker.AcceptRef.
func (p *Pipe) Accept(r Ref, a Accepted) {
	p.cur.accepts = append(p.cur.accepts, a)
	p.op(pipeAccept, r)
}

// Attempt is Checker.AttemptRef.
func (p *Pipe) Attempt(r Ref, a AttemptRec) {
	p.cur.attempts = append(p.cur.attempts, a)
	p.op(pipeAttempt, r)
}

// Receipt is Checker.ReceiptRef.
func (p *Pipe) Receipt(r Ref, rec ReceiptRec) {
	p.cur.receipts = append(p.cur.receipts, rec)
	p.op(pipeReceipt, r)
}

// Final is Checker.FinalRef.
func (p *Pipe) Final(r Ref, f Final) {
	p.cur.finals = append(p.cur.finals, f)
	p.op(pipeFinal, r)
}

// Hold is Checker.HoldRef.
func (p *Pipe) Hold(r Ref) { p.op(pipeHold, r) }

// Release is Checker.ReleaseRef.
func (p *Pipe) Release(r Ref) { p.op(pipeRelease, r) }

// Sync waits until every record sent is applied and returns the first
// the Checker refused (the Pipe's methods, queueing, cannot).
func (p *Pipe) Sync() error {
	if p.closed {
		return p.err
	}
	p.send(true)
	// Every batch but the current one is free once the applier has
	// applied all that was sent: take them all, then let them go again.
	var held [pipeBatches - 1]*pipeBatch
	for i := range held {
		held[i] = p.batch()
	}
	for _, b := range held {
		p.free <- b
	}
	return p.err
}

// Close applies what was sent, stops the applier and returns Sync's
// error. The Pipe must not be fed after.
func (p *Pipe) Close() error {
	if p.closed {
		return p.err
	}
	err := p.Sync()
	p.closed = true
	close(p.full)
	<-p.done
	return err
}

// apply is the applier goroutine: it applies each batch's records in order
// and hands the batch back.
func (p *Pipe) apply() {
	defer close(p.done)
	var at []int32 // Pipe Ref -> the Checker's position of its event
	c := p.c
	for b := range p.full {
		// next[k] is the next body of records of kind k: each record
		// with a body takes the next of its kind.
		var next [pipeRelease + 1]int
		for _, o := range b.ops {
			j := next[o.kind]
			next[o.kind]++
			if o.kind == pipeNewRef {
				for int(o.ref) >= len(at) {
					at = append(at, -1)
				}
				r, err := c.newRef(b.ids[j])
				at[o.ref] = int32(r)
				if err != nil {
					at[o.ref] = -1
					b.fail(err)
				}
				continue
			}
			i := int32(-1)
			if o.ref >= 0 && int(o.ref) < len(at) {
				i = at[o.ref]
			}
			if i < 0 {
				b.fail(fmt.Errorf("sim: %s record about pipe ref %d, which names no event (never made, or its event settled)", o.kind, o.ref))
				continue
			}
			r := Ref(i)
			var err error
			switch o.kind {
			case pipeAccept:
				err = c.acceptRef(r, &b.accepts[j])
			case pipeAttempt:
				err = c.attemptRef(r, &b.attempts[j])
			case pipeReceipt:
				err = c.receiptRef(r, &b.receipts[j])
			case pipeFinal:
				err = c.finalRef(r, &b.finals[j])
			case pipeHold:
				err = c.holdRef(r)
			case pipeRelease:
				err = c.releaseRef(r)
			}
			if err != nil {
				b.fail(fmt.Errorf("%w (%s record, pipe ref %d)", err, o.kind, o.ref))
			}
			if !c.events.at(i).live {
				// Settled: the Checker freed the event's place, and the
				// Pipe's Ref may name another event.
				at[o.ref] = -1
				b.freed = append(b.freed, o.ref)
			}
		}
		p.free <- b
	}
}
