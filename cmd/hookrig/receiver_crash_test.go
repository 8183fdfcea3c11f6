package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hookrig/hookrig/reference/webhook"
)

// TestReceiverSyncCrashForgetsNothing: the real receiver binary with
// --sync, signed webhooks from 16 clients, kill -9 once 200 are
// acknowledged. Every webhook that got its 2xx must be in the journal
// file, and after a restart on the same dedupe store a retry of each is
// recognised as a duplicate: an acknowledgement is a promise the crash
// did not break.
func TestReceiverSyncCrashForgetsNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the hookrig binary")
	}
	const (
		secret  = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		clients = 16
		max     = 2000 // bound on what is sent, whatever happens
		killAt  = 200
	)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin := buildBinary(t, ctx, dir)
	journal, store := filepath.Join(dir, "receipts.jsonl"), filepath.Join(dir, "dedupe.log")
	args := []string{"receiver", "--listen", "127.0.0.1:0", "--secret", secret, "--journal", journal,
		"--dedupe-store", store, "--sync", "--quiet"}
	recv := startBinary(t, ctx, bin, args...)
	signer, err := webhook.NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	post := func(url, id string) (int, string, error) {
		body := []byte(`{"type":"order.paid","id":"` + id + `"}`)
		req, err := http.NewRequest("POST", url+"/hooks", bytes.NewReader(body))
		if err != nil {
			return 0, "", err
		}
		signer.SetHeaders(req.Header, id, time.Now(), body)
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}

	var (
		mu     sync.Mutex
		acked  []string
		sent   atomic.Int64
		killed sync.Once
		wg     sync.WaitGroup
	)
	kill := func() {
		killed.Do(func() {
			if err := recv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Error(err)
			}
		})
	}
	for c := range clients {
		wg.Go(func() {
			for i := 0; ; i++ {
				n := sent.Add(1)
				if n > max || ctx.Err() != nil {
					return
				}
				id := fmt.Sprintf("msg_c%d_%d", c, i)
				code, _, err := post(recv.url, id)
				if err != nil {
					return // the receiver is gone
				}
				if code == http.StatusOK {
					mu.Lock()
					acked = append(acked, id)
					if len(acked) == killAt {
						kill()
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	recv.cmd.Wait()
	if len(acked) < killAt {
		t.Fatalf("only %d webhooks acknowledged before the clients stopped", len(acked))
	}

	data, err := os.ReadFile(journal)
	if err != nil {
		t.Fatal(err)
	}
	missing := 0
	for _, id := range acked {
		if !strings.Contains(string(data), `"id":"`+id+`","attempt":0,`) {
			missing++
		}
	}
	t.Logf("%d acknowledged before the kill -9 (%d sent); %d of them missing from the journal", len(acked), min(sent.Load(), max), missing)
	if missing > 0 {
		t.Fatalf("%d acknowledged webhooks are not in the journal", missing)
	}

	// Restarted on the same files, it remembers every acknowledged id.
	recv2 := startBinary(t, ctx, bin, args...)
	for _, id := range acked {
		code, body, err := post(recv2.url, id)
		if err != nil || code != http.StatusOK || !strings.Contains(body, `"duplicate":true`) {
			t.Fatalf("retry of %s after the restart: %d %s %v (want a 200 duplicate)", id, code, body, err)
		}
	}
	recv2.stop(t)
}
