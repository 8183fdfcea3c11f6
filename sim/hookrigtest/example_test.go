package hookrigtest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hookrig/hookrig/reference/sender"
	"github.com/hookrig/hookrig/reference/webhook"
	"github.com/hookrig/hookrig/sim/hookrigtest"
)

// The examples run their test bodies through asTest (helpers_test.go),
// which hands them a testing.TB; in your own test, t is the
// *testing.T of the test function.

// Test your sender: point it at a reference receiver, which verifies
// each webhook's signature, and wait for what it received. (Here
// hookrig's own sender stands in for yours.)
func ExampleNewReceiver() {
	asTest(func(t testing.TB) {
		rcv := hookrigtest.NewReceiver(t)

		// Your sender, configured with rcv.URL and rcv.Secret:
		snd := hookrigtest.NewSender(t, rcv.URL, hookrigtest.WithSecret(rcv.Secret))
		snd.Send(sender.EventSpec{ID: "evt_1", Type: "invoice.paid", Payload: []byte(`{"invoice":"in_1","amount":4200}`)})

		for _, d := range rcv.WaitFor(1, 10*time.Second) {
			fmt.Printf("%s verified=%v %s\n", d.Receipt.ID, d.Receipt.Verified, d.Body)
		}
	})
	// Output:
	// evt_1 verified=true {"invoice":"in_1","amount":4200}
}

// Put the chaos proxy between a sender and a receiver: here every first
// attempt is answered 503 by the proxy, so each event takes a retry.
func ExampleNewProxy() {
	asTest(func(t testing.TB) {
		rcv := hookrigtest.NewReceiver(t)
		proxy := hookrigtest.NewProxy(t, rcv.URL,
			`{name: first-fails, match: attempt == 1, fault: {type: status, code: 503}}`)
		snd := hookrigtest.NewSender(t, proxy.URL, hookrigtest.WithSecret(rcv.Secret))
		snd.Post("invoice.paid", map[string]any{"invoice": "in_1"})
		snd.Post("invoice.paid", map[string]any{"invoice": "in_2"})

		for _, e := range snd.WaitDelivered(10 * time.Second) {
			fmt.Print(e.State, ":")
			for _, a := range e.Attempts {
				fmt.Print(" ", a.Status)
			}
			fmt.Println()
		}
		st := proxy.Stats()
		fmt.Printf("proxy: %d requests, %d faults injected\n", st.Requests, st.Injected)

		proxy.SetRules() // no more faults
		snd.Post("invoice.paid", map[string]any{"invoice": "in_3"})
		last := snd.WaitDelivered(10 * time.Second)[2]
		fmt.Println(last.State, "in", len(last.Attempts), "attempt")
	})
	// Output:
	// delivered: 503 200
	// delivered: 503 200
	// proxy: 4 requests, 2 faults injected
	// delivered in 1 attempt
}

// Test your endpoint with hookrig's reference sender: it signs each
// attempt (Standard Webhooks), retries and dead-letters by its policy.
func ExampleNewSender() {
	asTest(func(t testing.TB) {
		secret := sender.NewSecret()
		verify, _ := webhook.NewVerifier(0, secret)
		var mu sync.Mutex
		var got []string
		// Your endpoint:
		endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if err := verify.Verify(r.Header, body, time.Now()); err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			mu.Lock()
			got = append(got, string(body))
			mu.Unlock()
		}))
		defer endpoint.Close()

		snd := hookrigtest.NewSender(t, endpoint.URL+"/webhooks", hookrigtest.WithSecret(secret))
		snd.Post("order.created", map[string]any{"order": 1})
		snd.Post("order.created", map[string]any{"order": 2})
		for _, e := range snd.WaitDelivered(10 * time.Second) {
			fmt.Println(e.Type, e.State)
		}
		mu.Lock()
		slices.Sort(got) // deliveries run concurrently: any order
		fmt.Println(got)
		mu.Unlock()
	})
	// Output:
	// order.created delivered
	// order.created delivered
	// [{"order":1} {"order":2}]
}

// Run a scenario (a built-in's name or a file) against your handler: it
// is served on 127.0.0.1 behind the chaos proxy, hookrig's sender
// delivers the scenario's load through the faults, and the test fails
// with the report's failed assertions. This endpoint verifies, dedupes
// by webhook-id and stores: it holds.
func ExampleRun() {
	asTest(func(t testing.TB) {
		secret := sender.NewSecret()
		verify, _ := webhook.NewVerifier(0, secret)
		var mu sync.Mutex
		stored := map[string]bool{}
		handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if err := verify.Verify(r.Header, body, time.Now()); err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			stored[r.Header.Get(webhook.HeaderID)] = true
		})

		res := hookrigtest.Run(t, "testdata/checkout.yaml", hookrigtest.Endpoint(handler), hookrigtest.WithSecret(secret))

		mu.Lock()
		defer mu.Unlock()
		fmt.Printf("passed %v: %d accepted, %d stored, %d lost; faults injected: %v\n",
			res.Passed, res.Events.Accepted, len(stored), res.Events.Lost, res.Attempts.Faulted > 0)
	})
	// Output:
	// passed true: 50 accepted, 50 stored, 0 lost; faults injected: true
}
