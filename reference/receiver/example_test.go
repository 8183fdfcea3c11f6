package receiver_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/reference/receiver"
	"github.com/hookrig/hookrig/reference/webhook"
)

// A receiver embedded in a Go program or test: serve its Handler, send it
// signed webhooks, read what it received.
func Example() {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r, err := receiver.New(receiver.Config{
		Secrets:   []string{secret},
		Clock:     clock.NewFake(now), // clock.Real{} outside tests
		OnReceipt: func(rc receiver.Receipt) { fmt.Println("receipt", rc.Seq, rc.ID, rc.Status, rc.Duplicate) },
	})
	if err != nil {
		panic(err)
	}
	defer r.Close()
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()

	signer, _ := webhook.NewSigner(secret)
	body := []byte(`{"type":"invoice.paid"}`)
	for range 2 { // the second delivery is a retry of the first
		req, _ := http.NewRequest("POST", srv.URL+"/webhooks", bytes.NewReader(body))
		signer.SetHeaders(req.Header, "msg_1", now, body)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
	}
	s := r.Stats()
	fmt.Println("received", s.Received, "unique", s.Unique, "duplicates", s.Duplicates)
	// Output:
	// receipt 1 msg_1 200 false
	// receipt 2 msg_1 200 true
	// received 2 unique 1 duplicates 1
}
