package hookrigtest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hookrig/hookrig/reference/receiver"
	"github.com/hookrig/hookrig/sim/hookrigtest"
)

// Each helper that cannot do its job stops the test, saying why.
func TestHelpersFailTheTestWithAReason(t *testing.T) {
	cases := map[string]struct {
		body func(t testing.TB)
		want string
	}{
		"WaitFor times out": {func(t testing.TB) {
			hookrigtest.NewReceiver(t).WaitFor(1, 20*time.Millisecond)
		}, "receiver: 0 unique webhooks received in 20ms, waited for 1"},
		"WaitDelivered times out": {func(t testing.TB) {
			// Every attempt gets a 503: the event waits for its retry.
			rcv := hookrigtest.NewReceiver(t)
			p := hookrigtest.NewProxy(t, rcv.URL, `{name: all-fail, fault: {type: status, code: 503}}`)
			snd := hookrigtest.NewSender(t, p.URL)
			snd.Post("order.created", map[string]int{"order": 1})
			snd.WaitDelivered(50 * time.Millisecond)
		}, "sender: 1 of 1 events still pending after 50ms"},
		"a rule that does not parse": {func(t testing.TB) {
			hookrigtest.NewProxy(t, "http://127.0.0.1:1/", `{name: x, fault: {type: no-such-fault}}`)
		}, "no-such-fault"},
		"a bad upstream": {func(t testing.TB) {
			hookrigtest.NewProxy(t, "127.0.0.1:1")
		}, `upstream "127.0.0.1:1": expected an http:// or https:// URL`},
		"a bad receiver config": {func(t testing.TB) {
			hookrigtest.NewReceiver(t, hookrigtest.WithReceiverConfig(func(c *receiver.Config) { c.MaxBody = -1 }))
		}, "must not be negative"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			f := &fakeT{}
			f.run(c.body)
			if !f.fatal || len(f.errors) != 1 || !strings.Contains(f.errors[0], c.want) {
				t.Errorf("want one Fatalf containing %q, got fatal=%v %q", c.want, f.fatal, f.errors)
			}
		})
	}
}
