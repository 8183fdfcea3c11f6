package loadgen

import (
	"testing"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/reference/webhook"
)

// The work done per request before it reaches the socket: naming the
// event, rendering a 1 KB body and writing the request, with and without a
// Standard Webhooks signature. The difference is what --secret costs.
func BenchmarkComposeRequest(b *testing.B) {
	signer, err := webhook.NewSigner("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		signer *webhook.Signer
	}{{"unsigned", nil}, {"signed", signer}} {
		b.Run(tc.name, func(b *testing.B) {
			r, err := New(Config{Target: Target{URL: "http://127.0.0.1:1/hook"}, Requests: 1, Clock: clock.Real{},
				Signer: tc.signer, Payload: DefaultPayload(1024), Keys: 16})
			if err != nil {
				b.Fatal(err)
			}
			c := r.newComposer()
			now := time.Now()
			buf := make([]byte, 0, 4096)
			b.ReportAllocs()
			b.SetBytes(1024)
			for i := 0; i < b.N; i++ {
				buf, _, err = c.compose(buf[:0], ticket{seq: uint64(i)}, now)
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Recording: one sample into a worker's batch, merged into the run's
// histograms a batch at a time.
func BenchmarkRecord(b *testing.B) {
	r := &Runner{tally: newTally()}
	var bt batch
	q := sentRequest{open: true}
	end := time.Now()
	q.intended, q.started = end.Add(-300*time.Microsecond), end.Add(-200*time.Microsecond)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r.record(&bt, &q, end, 200, 100, errNone)
	}
}
