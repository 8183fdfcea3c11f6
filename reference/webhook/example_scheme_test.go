package webhook_test

import (
	"fmt"
	"net/http"
	"time"

	"github.com/hookrig/hookrig/reference/webhook"
)

// A Stripe-like sender and receiver: sign, verify, then the errors
// docs/schemes.md quotes.
func ExampleNewScheme() {
	stripe, err := webhook.NewScheme("stripe", webhook.Options{Secrets: []string{"whsec_test_secret"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	body := []byte(`{"id":"evt_1","type":"invoice.paid"}`)
	sent := time.Unix(1700000000, 0)
	h := http.Header{}
	stripe.Sign(h, "evt_1", sent, body)
	fmt.Println(h.Get("Stripe-Signature"))

	got, err := stripe.Verify(h, body, sent.Add(time.Minute))
	fmt.Println(got.ID, got.Timestamp.Unix(), err)

	_, err = stripe.Verify(h, body, sent.Add(time.Hour))
	fmt.Println(err)

	github, _ := webhook.NewScheme("github", webhook.Options{Secrets: []string{"It's a Secret to Everybody"}})
	h = http.Header{}
	h.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
	h.Set("X-Hub-Signature-256", "sha1=757107ea0eb2509fc211221cce984b8a37570b6d")
	_, err = github.Verify(h, []byte("Hello, World!"), sent)
	fmt.Println(err)

	_, err = webhook.NewScheme("paypal", webhook.Options{Secrets: []string{"x"}})
	fmt.Println(err)
	// Output:
	// t=1700000000,v1=46dc069361a7691082640523fa33fe5d6c8c88d5f5e257cdf8cf11539d166595
	// evt_1 1700000000 <nil>
	// stripe: stale timestamp (Stripe-Signature t=): 1700000000 is more than 5m0s before now
	// github: bad format (X-Hub-Signature-256): "sha1=757107ea0eb2509fc211221cce984b8a37570b6d" does not start with "sha256="; want sha256=<64 hex digits>
	// unknown signature scheme "paypal" (want one of convoy, convoy-simple, github, shopify, slack, standard, stripe, svix)
}
