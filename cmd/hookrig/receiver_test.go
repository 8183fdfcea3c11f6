package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookrig/hookrig/reference/webhook"
)

const recvTestSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// startReceiverCmd runs `hookrig receiver args...` in-process and returns
// its base URL, a stop function and the exit code channel.
func startReceiverCmd(t *testing.T, args ...string) (string, context.CancelFunc, <-chan int, *bytes.Buffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	var stderr bytes.Buffer
	e := newEnv(strings.NewReader(""), outW, &recvSyncWriter{w: &stderr}, func(string) string { return "" })
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, append([]string{"receiver"}, args...), e)
		outW.Close()
	}()
	sc := bufio.NewScanner(outR)
	if !sc.Scan() {
		cancel()
		t.Fatalf("no address line; exit %d, stderr: %s", <-code, stderr.String())
	}
	line := sc.Text()
	go io.Copy(io.Discard, outR)
	url, ok := strings.CutPrefix(line, "receiver listening on ")
	if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
		cancel()
		t.Fatalf("first line %q, want \"receiver listening on http://127.0.0.1:PORT\"", line)
	}
	return url, cancel, code, &stderr
}

func TestReceiverCommand(t *testing.T) {
	journal := filepath.Join(t.TempDir(), "receipts.jsonl")
	url, cancel, code, stderr := startReceiverCmd(t, "--listen", "127.0.0.1:0", "--secret", recvTestSecret, "--journal", journal)
	defer cancel()

	signer, err := webhook.NewSigner(recvTestSecret)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"type":"invoice.paid"}`)
	for i, want := range []int{200, 200} { // the second is a duplicate, still 2xx
		req, _ := http.NewRequest("POST", url+"/any/path/"+string(rune('a'+i)), bytes.NewReader(body))
		signer.SetHeaders(req.Header, "msg_cmd_1", time.Now(), body)
		req.Header.Set(webhook.HeaderAttempt, "1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("post %d: status %d, want %d", i, resp.StatusCode, want)
		}
	}
	resp, err := http.Get(url + "/v1/stats")
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ Received, Unique, Duplicates uint64 }
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if st.Received != 2 || st.Unique != 1 || st.Duplicates != 1 {
		t.Fatalf("stats %+v, want 2 received, 1 unique, 1 duplicate", st)
	}

	cancel() // what SIGINT/SIGTERM do in main
	select {
	case c := <-code:
		if c != exitOK {
			t.Fatalf("exit %d, stderr: %s", c, stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("receiver did not shut down on cancel")
	}
	data, err := os.ReadFile(journal)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"id":"msg_cmd_1","attempt":1`) || !strings.Contains(lines[1], `"duplicate":true`) {
		t.Fatalf("journal after shutdown:\n%s", data)
	}
}

func TestReceiverCommandErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{nil, "no secret"},
		{[]string{"--secret", "whsec_!!!"}, "invalid secret"},
		{[]string{"--secret", recvTestSecret, "--listen", "nonsense"}, "host:port"},
		{[]string{"--secret", recvTestSecret, "--max-body", "lots"}, "want a positive size"},
		{[]string{"--secret", recvTestSecret, "--process-failure-ratio", "2"}, "outside 0..1"},
		{[]string{"--secret", recvTestSecret, "extra"}, "unknown command"},
		{[]string{"--secret", recvTestSecret, "--dedupe-ttl", "0s"}, "--dedupe-ttl must be positive"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		e := newEnv(strings.NewReader(""), &out, &errb, func(string) string { return "" })
		got := run(context.Background(), append([]string{"receiver", "--listen", "127.0.0.1:0"}, c.args...), e)
		if got != exitError || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q, want exit %d mentioning %q", c.args, got, errb.String(), exitError, c.want)
		}
	}
}

// recvSyncWriter lets the command's logger and the test share a buffer.
type recvSyncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *recvSyncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
