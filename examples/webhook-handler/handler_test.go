package orders_test

import (
	"net/http/httptest"
	"testing"
	"time"

	orders "example.com/hookrig-example"

	"github.com/hookrig/hookrig/reference/sender"
	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim/hookrigtest"
)

// secret is the endpoint's signing secret in these tests.
const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func newHandler(t *testing.T) *orders.Handler {
	t.Helper()
	h, err := orders.New(secret)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// A built-in scenario against the handler, served in-process behind the
// chaos proxy: flaky-5xx (shortened to a fifth: the same load and faults
// for a fifth of the time) must hold: 5xx answers retried, nothing lost,
// nothing duplicated. hookrigtest.Run(t, "flaky-5xx", ...) runs it whole.
func TestFlaky5xxHolds(t *testing.T) {
	h := newHandler(t)
	s, err := scenarios.Builtin("flaky-5xx")
	if err != nil {
		t.Fatal(err)
	}
	res := hookrigtest.RunScenario(t, s.Shortened(0.2), hookrigtest.Endpoint(h), hookrigtest.WithSecret(secret))
	if got := h.Webhooks(); int64(got) != res.Events.Delivered {
		t.Errorf("the handler recorded %d webhooks, hookrig saw %d delivered", got, res.Events.Delivered)
	}
}

// Acknowledgements lost on the way back: the handler recorded the order,
// the sender saw a 502 and delivers it again. The order is paid once.
func TestOrderRecordedOnceWhenTheAckIsLost(t *testing.T) {
	h := newHandler(t)
	endpoint := httptest.NewServer(h)
	t.Cleanup(endpoint.Close)
	proxy := hookrigtest.NewProxy(t, endpoint.URL+"/webhooks/orders",
		`{name: ack-lost, match: attempt == 1, fault: {type: ack_lost}}`)
	snd := hookrigtest.NewSender(t, proxy.URL, hookrigtest.WithSecret(secret))

	snd.Send(sender.EventSpec{Type: "order.paid", Payload: []byte(`{"id":"ord_1","amount":4200}`)})
	events := snd.WaitDelivered(10 * time.Second)

	if e := events[0]; e.State != "delivered" || len(e.Attempts) != 2 {
		t.Fatalf("event %s: %s after %d attempts, want delivered on the second", e.ID, e.State, len(e.Attempts))
	}
	if got := h.Paid("ord_1"); got != 4200 {
		t.Errorf("order ord_1 paid %d, want 4200 (recorded once though delivered twice)", got)
	}
	if st := proxy.Stats(); st.Injected != 1 || st.Forwarded != 2 {
		t.Errorf("proxy: %d faults injected, %d forwarded; want 1 and 2", st.Injected, st.Forwarded)
	}
}
