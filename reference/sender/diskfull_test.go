package sender

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
)

// mountTmpfs mounts a tmpfs of size bytes for the test. It needs root
// (CI runs tests as root); elsewhere the test is skipped, saying so,
// since a full disk cannot be made without filling a real one.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs (a real full disk); CI runs it as root")
	}
	dir := filepath.Join(t.TempDir(), "full")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s); CI runs it as root on Linux", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// Issue 17 finding 9: a full disk under the outbox was answered 500. It
// is 507 with Retry-After, never a 2xx for an event that is not kept:
// every event answered 202 is in the outbox after a restart, and once
// space comes back the outcomes of the deliveries are journaled (every
// accepted event ends delivered).
func TestOutboxDiskFull(t *testing.T) {
	dir := mountTmpfs(t, "512k")
	ep := newEndpoint(t, clock.Real{}, nil)
	s, err := Open(Config{DataDir: dir, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.CreateEndpoint(EndpointSpec{URL: ep.srv.URL, Secret: testSecret, Policy: quickPolicy(100)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	// Delivering while the disk fills: claims and outcomes fail to be
	// journaled too, and must not be lost or reported as kept.
	s.Start(context.Background())

	payload := `{"pad":"` + strings.Repeat("x", 2000) + `"}`
	const clients, maxRequests = 8, 2000
	var mu sync.Mutex
	accepted := map[string]bool{}
	statuses := map[int]int{}
	var full, next int
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			client := &http.Client{Timeout: wait}
			for {
				mu.Lock()
				if next >= maxRequests || full >= 20 {
					mu.Unlock()
					return
				}
				id := fmt.Sprintf("evt-%d", next)
				next++
				mu.Unlock()
				body := `{"id":"` + id + `","endpoint":"` + e.ID + `","type":"t","payload":` + payload + `}`
				resp, err := client.Post(srv.URL+"/v1/events", "application/json", strings.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				mu.Lock()
				statuses[resp.StatusCode]++
				switch {
				case resp.StatusCode == http.StatusAccepted:
					accepted[id] = true
				case resp.StatusCode == http.StatusInsufficientStorage && resp.Header.Get("Retry-After") != "":
					full++
				default:
					t.Errorf("%s: %d (Retry-After %q), want 202 or 507 with Retry-After", id, resp.StatusCode, resp.Header.Get("Retry-After"))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Logf("answers %v over %d requests", statuses, next)
	if full == 0 {
		t.Fatalf("the disk never filled in %d requests: %v", next, statuses)
	}
	if err := s.Close(); err != nil {
		t.Logf("close on a full disk: %v", err)
	}

	// Space comes back; the sender restarts on the same file.
	if out, err := exec.Command("mount", "-o", "remount,size=64m", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v %s", err, out)
	}
	reports := make(chan AttemptReport, 10*maxRequests)
	s2, err := Open(Config{DataDir: dir, Seed: 1, OnAttempt: func(r AttemptReport) { reports <- r }})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for id := range accepted {
		if _, err := s2.Event(id); err != nil {
			t.Fatalf("event %s was answered 202 but is not in the outbox: %v", id, err)
		}
	}
	if st := s2.Stats(); st.Accepted != uint64(len(accepted)) {
		t.Fatalf("outbox holds %d events, %d were answered 202", st.Accepted, len(accepted))
	}
	s2.Start(context.Background())
	deadline := time.After(wait)
	for s2.Stats().Delivered < uint64(len(accepted)) {
		select {
		case <-reports: // an outcome was journaled: look again
		case <-deadline:
			t.Fatalf("%d delivered of %d accepted; stats %+v", s2.Stats().Delivered, len(accepted), s2.Stats())
		}
	}
}
