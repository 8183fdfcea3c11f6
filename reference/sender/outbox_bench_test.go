package sender

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"
)

// BenchmarkOutboxLifecycle measures the outbox writes of events delivered
// at their first attempt, without HTTP: per round, one commit ingests
// outboxRound events, one claims their attempts and one records their
// outcomes, as the dispatcher's writes do (they share commits with each
// other in a running sender). ns/op is per event, fsyncs included.
//
//	go test -run '^$' -bench OutboxLifecycle -benchtime 20000x ./reference/sender
func BenchmarkOutboxLifecycle(b *testing.B) {
	const outboxRound = 128
	ob, err := openOutbox(b.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ob.stop(false) })
	const endpoint = "ep_bench"
	if err := ob.do(func(t *txb, c *counters) error {
		return t.putEndpoint(&Endpoint{ID: endpoint, URL: "http://127.0.0.1:9/"})
	}); err != nil {
		b.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	b.ResetTimer()
	for done := 0; done < b.N; done += outboxRound {
		n := min(outboxRound, b.N-done)
		seqs := make([]uint64, n)
		err := ob.do(func(t *txb, c *counters) error {
			for i := range seqs {
				ev := eventRecord{ID: fmt.Sprintf("msg_%d", done+i), Endpoint: endpoint, Type: "invoice.paid", Payload: []byte(benchPayload), AcceptedAt: now.UnixNano()}
				seq, err := t.ingest(c, &ev)
				if err != nil {
					return err
				}
				seqs[i] = seq
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		err = ob.do(func(t *txb, c *counters) error {
			for _, seq := range seqs {
				if _, err := t.claim(seq, 1, now); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		err = ob.do(func(t *txb, c *counters) error {
			for _, seq := range seqs {
				rec, err := t.stateOf(seq)
				if err != nil {
					return err
				}
				rec.Attempts, rec.Total = 1, 1
				rec.Code, rec.FinalAt = codeDelivered, now.UnixNano()
				a := attemptRecord{N: 1, At: now.UnixNano(), Duration: int64(time.Millisecond), Status: 200}
				if err := t.record(c, seq, endpoint, &a, codePending, &rec); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
