package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrig/hookrig/internal/metrics/metricstest"
)

// TestBenchServesLiveMetrics holds the fifth request of a one-worker bench
// at the endpoint, scrapes --metrics meanwhile (four answered, one in
// flight), then lets the bench finish: the metrics server goes with it.
func TestBenchServesLiveMetrics(t *testing.T) {
	held, release := make(chan struct{}), make(chan struct{})
	var n atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if n.Add(1) == 5 {
			close(held)
			<-release
		}
	}))
	t.Cleanup(up.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})

	errR, errW := io.Pipe()
	code := make(chan int, 1)
	go func() {
		code <- run(context.Background(), []string{"bench", up.URL, "--requests", "10", "--concurrency", "1",
			"--metrics", "127.0.0.1:0", "--no-preflight", "-q"}, newEnv(strings.NewReader(""), io.Discard, errW, noEnv))
		errW.Close()
	}()
	sc := bufio.NewScanner(errR)
	var addr string
	for addr == "" && sc.Scan() {
		addr, _ = strings.CutPrefix(sc.Text(), "hookrig: metrics on ")
	}
	rest := &syncBuffer{}
	go io.Copy(rest, errR)
	if addr == "" {
		t.Fatalf("no metrics address on stderr (exit %d)", <-code)
	}
	select {
	case <-held:
	case <-time.After(10 * time.Second):
		t.Fatal("the fifth request never came")
	}
	fams, err := metricstest.Scrape(http.DefaultClient, addr, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"hookrig_load_requests_total", []string{"result", "status_2xx"}, 4},
		{"hookrig_load_requests_total", []string{"result", "status_5xx"}, 0},
		{"hookrig_load_latency_seconds", nil, 4},
		{"hookrig_load_in_flight", nil, 1},
	} {
		if got, ok := fams.Value(c.name, c.labels...); !ok || got != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	close(release)
	if c := <-code; c != exitOK {
		t.Fatalf("bench exit %d: %s", c, rest.String())
	}
	if _, err := metricstest.Scrape(http.DefaultClient, addr, ""); err == nil {
		t.Error("the metrics server outlived the bench")
	}
}

// TestMetricsFlagBadAddress: a --metrics that cannot be listened on is a
// one-line error before any load.
func TestMetricsFlagBadAddress(t *testing.T) {
	var hits atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(up.Close)
	c, _, stderr := runOnce(context.Background(), "", "bench", up.URL, "--requests", "1", "--no-preflight", "--metrics", "nonsense")
	if c != exitError || !strings.Contains(stderr, "--metrics nonsense") || hits.Load() != 0 {
		t.Errorf("exit %d, %d requests, stderr %q", c, hits.Load(), stderr)
	}
}
