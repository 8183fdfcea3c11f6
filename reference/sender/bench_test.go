package sender

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hookrig/hookrig/reference/sender/delivery"
)

// go test -bench . -benchtime 20000x ./reference/sender/ -cpuprofile cpu.prof

func benchSender(b *testing.B) (*Sender, string, chan AttemptReport) {
	reports := make(chan AttemptReport, b.N+1)
	s, err := Open(Config{DataDir: b.TempDir(), Seed: 1, OnAttempt: func(r AttemptReport) { reports <- r }})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	b.Cleanup(srv.Close)
	p := delivery.DefaultPolicy()
	p.Concurrency = 64
	ep, err := s.CreateEndpoint(EndpointSpec{URL: srv.URL, Secret: testSecret, Policy: &p})
	if err != nil {
		b.Fatal(err)
	}
	return s, ep.ID, reports
}

const benchPayload = `{"type":"invoice.paid","data":{"id":"in_1234567890","amount":4200,"currency":"eur","customer":"cus_0987654321"}}`

func BenchmarkEnqueueSingle(b *testing.B) {
	s, ep, _ := benchSender(b)
	b.SetParallelism(16) // 16 x GOMAXPROCS concurrent clients
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Enqueue(context.Background(), []EventSpec{{Endpoint: ep, Type: "invoice.paid", Payload: []byte(benchPayload)}}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	st := s.Stats()
	b.ReportMetric(st.WritesPerCommit, "writes/commit")
}

func BenchmarkEnqueueBatch100(b *testing.B) {
	s, ep, _ := benchSender(b)
	batch := make([]EventSpec, 100)
	for i := range batch {
		batch[i] = EventSpec{Endpoint: ep, Type: "invoice.paid", Key: fmt.Sprint(i % 10), Payload: []byte(benchPayload)}
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Enqueue(context.Background(), batch); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkDeliver measures delivery of a backlog to a loopback endpoint
// that answers 200 at once: claim, sign, POST, record, per event.
func BenchmarkDeliver(b *testing.B) {
	s, ep, reports := benchSender(b)
	batch := make([]EventSpec, 0, 1000)
	for i := 0; i < b.N; i++ {
		batch = append(batch, EventSpec{Endpoint: ep, Type: "invoice.paid", Payload: []byte(benchPayload)})
		if len(batch) == cap(batch) || i == b.N-1 {
			if _, err := s.Enqueue(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	b.ResetTimer()
	s.Start(context.Background())
	deadline := time.After(5 * time.Minute)
	for i := 0; i < b.N; i++ {
		select {
		case <-reports:
		case <-deadline:
			b.Fatalf("delivered %d of %d", i, b.N)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(s.Stats().WritesPerCommit, "writes/commit")
}
