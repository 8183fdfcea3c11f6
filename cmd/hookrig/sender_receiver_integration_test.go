package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSenderCrashLosesNothing runs the real binaries on loopback: sender
// -> receiver, 1,000 events, kill -9 of the sender mid-delivery, restart on
// the same data directory. Every accepted id must reach the receiver's
// journal, and every duplicate the receiver saw must be one the sender
// reports (an attempt interrupted by the crash): reported, not hidden.
func TestSenderCrashLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the hookrig binary")
	}
	const (
		secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		events = 1000
	)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin := buildBinary(t, ctx, dir)
	journal := filepath.Join(dir, "receipts.jsonl")
	data := filepath.Join(dir, "sender-data")
	client := &http.Client{Timeout: 10 * time.Second}

	recv := startBinary(t, ctx, bin, "receiver", "--listen", "127.0.0.1:0", "--secret", secret, "--journal", journal, "--quiet")
	send := startBinary(t, ctx, bin, "sender", "--listen", "127.0.0.1:0", "--data", data, "--quiet", "--seed", "1")

	// Two attempts at a time, so that delivery of 1,000 events lasts long
	// enough to be interrupted.
	var ep struct{ ID string }
	apiCall(t, client, "POST", send.url+"/v1/endpoints",
		fmt.Sprintf(`{"url": %q, "secret": %q, "policy": {"concurrency": 2}}`, recv.url+"/hooks", secret), 201, &ep)
	accepted := map[string]bool{}
	for b := range events / 100 {
		var evs []string
		for i := range 100 {
			n := b*100 + i
			evs = append(evs, fmt.Sprintf(`{"endpoint": %q, "type": "order.paid", "key": "k%d", "payload": {"n": %d}}`, ep.ID, n%7, n))
		}
		var res struct{ IDs []string }
		apiCall(t, client, "POST", send.url+"/v1/events", `{"events": [`+strings.Join(evs, ",")+`]}`, 202, &res)
		for _, id := range res.IDs {
			accepted[id] = true
		}
	}
	if len(accepted) != events {
		t.Fatalf("%d distinct ids accepted, want %d", len(accepted), events)
	}

	// Kill -9 once the receiver has seen some of them.
	type recvStats struct{ Received, Unique, Duplicates int }
	var rs recvStats
	poll(t, ctx, "the receiver to see 100 webhooks", func() bool {
		apiCall(t, client, "GET", recv.url+"/v1/stats", "", 200, &rs)
		return rs.Received >= 100
	})
	if err := send.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	send.cmd.Wait()

	send2 := startBinary(t, ctx, bin, "sender", "--listen", "127.0.0.1:0", "--data", data, "--quiet", "--seed", "2")
	type senderStats struct{ Accepted, Delivered, Pending, DeadLettered, Attempts, Interrupted int }
	var ss senderStats
	apiCall(t, client, "GET", send2.url+"/v1/stats", "", 200, &ss)
	if ss.Accepted != events {
		t.Fatalf("after the crash the outbox holds %d accepted events, want %d", ss.Accepted, events)
	}
	if ss.Delivered == events {
		t.Fatalf("everything was delivered before the kill: the test did not interrupt delivery (%+v)", ss)
	}
	t.Logf("at the crash: %d of %d delivered, %d attempts interrupted", ss.Delivered, events, ss.Interrupted)
	poll(t, ctx, "the restarted sender to deliver everything", func() bool {
		apiCall(t, client, "GET", send2.url+"/v1/stats", "", 200, &ss)
		return ss.Pending == 0
	})
	if ss.Delivered != events || ss.DeadLettered != 0 {
		t.Fatalf("sender after restart: %+v", ss)
	}

	// What the sender says about each event: all delivered; which had
	// an attempt cut off by the crash.
	interrupted := map[string]bool{}
	after := 0
	for {
		var page struct {
			Events []struct {
				ID, State string
				Seq       int
				Attempts  []struct {
					N     int
					Error string
				}
			}
		}
		apiCall(t, client, "GET", fmt.Sprintf("%s/v1/events?after=%d&limit=1000", send2.url, after), "", 200, &page)
		if len(page.Events) == 0 {
			break
		}
		for _, e := range page.Events {
			if !accepted[e.ID] || e.State != "delivered" {
				t.Fatalf("sender event %s: state %s (accepted: %v)", e.ID, e.State, accepted[e.ID])
			}
			for _, a := range e.Attempts {
				if a.Error == "interrupted" {
					interrupted[e.ID] = true
				}
			}
			after = e.Seq
		}
	}
	if len(interrupted) != ss.Interrupted {
		t.Fatalf("%d events with an interrupted attempt, stats say %d", len(interrupted), ss.Interrupted)
	}

	// Stop the receiver gracefully so its journal is complete, then read
	// it: every accepted id is there, verified and acknowledged.
	send2.stop(t)
	recv.stop(t)
	f, err := os.Open(journal)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	acked := map[string]int{}
	var duplicates []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r struct {
			ID        string
			Attempt   int
			Status    int
			Verified  bool
			Duplicate bool
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("journal line %q: %v", sc.Text(), err)
		}
		if !accepted[r.ID] {
			t.Fatalf("journal has %q, which the sender never accepted", r.ID)
		}
		if !r.Verified || r.Status/100 != 2 {
			t.Fatalf("journal line %s: not verified and acknowledged", sc.Text())
		}
		acked[r.ID]++
		if r.Duplicate {
			duplicates = append(duplicates, r.ID)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	lost := 0
	for id := range accepted {
		if acked[id] == 0 {
			lost++
			t.Errorf("lost: %s was accepted but never reached the receiver", id)
		}
	}
	for _, id := range duplicates {
		if !interrupted[id] {
			t.Errorf("the receiver saw %s twice, but the sender does not report an interrupted attempt for it", id)
		}
	}
	t.Logf("%d accepted, %d received, %d lost, %d duplicate deliveries, all on the %d events the sender reports as interrupted",
		len(accepted), len(acked), lost, len(duplicates), len(interrupted))
}

// binary is a hookrig process started by a test.
type binary struct {
	cmd *exec.Cmd
	url string
}

// buildBinary builds hookrig into dir.
func buildBinary(t *testing.T, ctx context.Context, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "hookrig")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startBinary runs bin with args and waits for its "... listening on URL"
// line.
func startBinary(t *testing.T, ctx context.Context, bin string, args ...string) *binary {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	b := &binary{cmd: cmd}
	cmd.Stderr = &syncBuffer{} // the process writes while the test may read
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s stderr:\n%s", args[0], cmd.Stderr.(*syncBuffer))
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("%s: no address line: %v; stderr: %s", args[0], err, cmd.Stderr.(*syncBuffer))
	}
	go io.Copy(io.Discard, stdout)
	_, url, ok := strings.Cut(strings.TrimSpace(line), " listening on ")
	if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("%s: first line %q", args[0], line)
	}
	b.url = url
	return b
}

// stop sends SIGTERM and waits for a clean exit.
func (b *binary) stop(t *testing.T) {
	t.Helper()
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := b.cmd.Wait(); err != nil {
		t.Fatalf("%s exited with %v; stderr: %s", b.cmd.Args[1], err, b.cmd.Stderr.(*syncBuffer))
	}
}

func apiCall(t *testing.T, client *http.Client, method, url, body string, want int, out any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, url, resp.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, url, err, b)
		}
	}
}

// poll checks cond every few milliseconds until it holds or ctx ends: the
// processes under test are separate, so their HTTP stats are the only
// signal there is.
func poll(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}
