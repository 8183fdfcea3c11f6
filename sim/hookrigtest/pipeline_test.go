package hookrigtest_test

import (
	"testing"
	"time"

	"github.com/hookrig/hookrig/reference/sender"
	"github.com/hookrig/hookrig/reference/sender/delivery"
	"github.com/hookrig/hookrig/sim/hookrigtest"
)

// The three helpers wired as hookrig run wires them: the sender delivers
// through the proxy, whose rule fails every first attempt, to the
// receiver. What each helper reports must agree: every event delivered on
// its second attempt, the proxy's log and the receiver's receipts showing
// both attempts, the stats counting them. It exercises the options a test
// of one's own would use (WithPolicy, WithSenderConfig) and the helpers'
// read-outs (Receipts, Stats, Attempts).
func TestHelpersAgreeAcrossAPipeline(t *testing.T) {
	rcv := hookrigtest.NewReceiver(t)
	proxy := hookrigtest.NewProxy(t, rcv.URL, `{"name": "first-fails", "match": "attempt == 1", "fault": {"type": "status", "code": 503}}`)
	pol := delivery.DefaultPolicy()
	pol.Backoff = delivery.Backoff{Base: 10 * time.Millisecond, Factor: 2, Cap: 40 * time.Millisecond}
	pol.Breaker.Failures = 0
	workers := 0
	snd := hookrigtest.NewSender(t, proxy.URL, hookrigtest.WithSecret(rcv.Secret), hookrigtest.WithPolicy(pol),
		hookrigtest.WithSenderConfig(func(c *sender.Config) { c.Workers = 4; workers = c.Workers }))
	const n = 5
	for i := range n {
		snd.Post("order.created", map[string]int{"order": i})
	}
	events := snd.WaitDelivered(20 * time.Second)
	if workers != 4 || len(events) != n {
		t.Fatalf("WithSenderConfig saw workers %d, want 4; %d events, want %d", workers, len(events), n)
	}
	for _, e := range events {
		if e.State != "delivered" || len(e.Attempts) != 2 {
			t.Errorf("event %s: %s after %d attempts, want delivered after 2", e.ID, e.State, len(e.Attempts))
		}
	}
	if st := snd.Stats(); st.Delivered != n || st.Attempts != 2*n {
		t.Errorf("sender stats %+v, want %d delivered in %d attempts", st, n, 2*n)
	}
	rcv.WaitFor(n, 10*time.Second)
	if st := rcv.Stats(); st.Unique != n || st.Duplicates != 0 {
		t.Errorf("receiver stats %+v, want %d unique and no duplicates", st, n)
	}
	if got := len(rcv.Receipts()); got != n {
		t.Errorf("%d receipts, want %d (the 503s never reached the receiver)", got, n)
	}
	faulted, forwarded := 0, 0
	for _, a := range proxy.Attempts() {
		switch {
		case a.Attempt == 1 && a.ClientStatus == 503:
			faulted++
		case a.Attempt == 2 && a.UpstreamStatus == 200:
			forwarded++
		}
	}
	if faulted != n || forwarded != n {
		t.Errorf("the proxy's log: %d first attempts refused, %d second attempts forwarded; want %d each", faulted, forwarded, n)
	}
}
