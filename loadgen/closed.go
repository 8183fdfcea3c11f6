package loadgen

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// runClosed runs Concurrency workers, each sending its next request as
// soon as the last is answered.
func (r *Runner) runClosed(ctx context.Context, start time.Time) outcome {
	if start.After(r.clk.Now()) { // Config.Start in the future
		wt := newWaiter(ctx, r.clk, r.realTime)
		ok := wt.wait(start)
		wt.close()
		if !ok {
			return outcome{}
		}
	}
	var next atomic.Uint64
	var deadline time.Time
	if r.cfg.Duration > 0 {
		deadline = start.Add(r.cfg.Duration)
	}
	var wg sync.WaitGroup
	for i := 0; i < r.cfg.Concurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{r: r, comp: r.newComposer(), last: start}
			defer w.finish()
			for !r.stopping.Load() {
				if !deadline.IsZero() && !w.last.Before(deadline) {
					return
				}
				n := next.Add(1) - 1
				if r.cfg.Requests > 0 && n >= r.cfg.Requests {
					return
				}
				w.do(ctx, ticket{seq: n*r.shards + r.shard, dup: r.isDup(n)})
			}
		}()
	}
	wg.Wait()
	out := outcome{window: r.clk.Now().Sub(start)}
	if !deadline.IsZero() && out.window > r.cfg.Duration {
		out.window = r.cfg.Duration
	}
	return out
}

// worker is one closed-loop client: it writes a request and reads its
// answer on its own connection, in one goroutine.
type worker struct {
	r     *Runner
	comp  *composer
	conn  *conn
	req   []byte
	resp  response
	batch batch
	last  time.Time // end of the previous request
	q     sentRequest
}

func (w *worker) finish() {
	w.r.tally.merge(&w.batch)
	if w.conn != nil {
		w.r.dropConn(w.conn)
		w.conn = nil
	}
}

// do sends one request and records it.
func (w *worker) do(ctx context.Context, t ticket) {
	r := w.r
	now := r.clk.Now()
	var dup bool
	var err error
	w.req, dup, err = w.comp.compose(w.req[:0], t, now)
	r.sent.Add(1)
	ev := &w.comp.ev
	w.q = sentRequest{seq: ev.seq, id: ev.id, key: ev.key, intended: now, started: now, dup: dup, bytes: len(w.req)}
	kind := errPayload
	w.resp = response{}
	if err == nil {
		kind = w.exchange(ctx, now)
	}
	end := r.clk.Now()
	w.last = end
	r.record(&w.batch, &w.q, end, w.resp.status, w.resp.bytes, kind)
}

// exchange sends the request and reads the answer, dialling first if the
// worker has no connection.
func (w *worker) exchange(ctx context.Context, now time.Time) errKind {
	r := w.r
	if w.conn == nil {
		c, err := r.dial(ctx)
		if err != nil {
			return classify(err, r.stopping.Load())
		}
		w.conn = c
	}
	c := w.conn
	if r.realTime {
		c.nc.SetDeadline(now.Add(r.timeout))
	}
	r.inflight.Add(1)
	err := c.send(w.req)
	if err == nil {
		err = c.readResponse(&w.resp)
	}
	r.inflight.Add(-1)
	if err != nil || w.resp.close || c.buffered() {
		// After an error, or bytes beyond the answer (an answer to
		// nothing), start afresh rather than misread the next answer.
		r.dropConn(c)
		w.conn = nil
	}
	return classify(err, r.stopping.Load())
}
