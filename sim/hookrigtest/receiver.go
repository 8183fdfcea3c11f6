package hookrigtest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hookrig/hookrig/reference/receiver"
	"github.com/hookrig/hookrig/reference/sender"
)

// Receiver is hookrig's reference receiver serving on 127.0.0.1 for one
// test (hookrig receiver): it verifies signatures, deduplicates by
// webhook-id, acknowledges, and records what it received.
type Receiver struct {
	// URL is where to deliver webhooks (any path but /v1/... is a
	// webhook path; this one is /webhooks).
	URL string
	// API is the receiver's own API (GET /v1/receipts, /v1/stats).
	API string
	// Secret is the secret it verifies with.
	Secret string

	t   testing.TB
	rcv *receiver.Receiver
	sig signal
	got []receiver.Delivery // unique verified webhooks, in processing order
}

// NewReceiver starts a reference receiver for the test and stops it at
// its end. Options: WithSecret, WithReceiverConfig.
func NewReceiver(t testing.TB, opts ...Option) *Receiver {
	t.Helper()
	o := collect(opts)
	r := &Receiver{t: t, Secret: o.secret}
	if r.Secret == "" {
		r.Secret = sender.NewSecret()
	}
	var cfg receiver.Config
	if o.receiver != nil {
		o.receiver(&cfg)
	}
	cfg.Secrets = []string{r.Secret}
	work := cfg.Processing.Func
	cfg.Processing.Func = func(ctx context.Context, d receiver.Delivery) error {
		r.sig.update(func() { r.got = append(r.got, d) })
		if work != nil {
			return work(ctx, d)
		}
		return nil
	}
	rcv, err := receiver.New(cfg)
	if err != nil {
		t.Fatalf("hookrigtest: receiver: %v", err)
	}
	r.rcv = rcv
	r.API = serve(t, rcv.Handler(), rcv.Close)
	r.URL = r.API + "/webhooks"
	return r
}

// Received returns the unique, verified webhooks received so far, in the
// order they were handed to processing (after their acknowledgement).
func (r *Receiver) Received() []receiver.Delivery {
	var out []receiver.Delivery
	r.sig.read(func() { out = slices.Clone(r.got) })
	return out
}

// Receipts returns the receiver's receipts: one per request, rejected
// and duplicate ones included, in journal order.
func (r *Receiver) Receipts() []receiver.Receipt {
	var out []receiver.Receipt
	for since := uint64(0); ; {
		page := r.rcv.Receipts(since, 10000)
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		since = page[len(page)-1].Seq
	}
}

// Stats returns the receiver's counters (GET /v1/stats).
func (r *Receiver) Stats() receiver.Stats { return r.rcv.Stats() }

// WaitFor waits until n unique webhooks have been received and returns
// them; after timeout it fails the test, saying how many came.
func (r *Receiver) WaitFor(n int, timeout time.Duration) []receiver.Delivery {
	r.t.Helper()
	if !r.sig.wait(timeout, func() bool { return len(r.got) >= n }) {
		got := r.Received()
		r.t.Fatalf("hookrigtest: receiver: %d unique webhooks received in %s, waited for %d", len(got), timeout, n)
	}
	return r.Received()
}
