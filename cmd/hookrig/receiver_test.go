package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookrig/hookrig/reference/webhook"
)

const recvTestSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func TestReceiverCommand(t *testing.T) {
	journal := filepath.Join(t.TempDir(), "receipts.jsonl")
	s := startServer(t, nil, 1, "receiver", "--listen", "127.0.0.1:0", "--secret", recvTestSecret, "--journal", journal)
	url := s.url

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

	s.stop(t)
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
		{[]string{"--secret", "nope"}, "secret #1 does not start with whsec_: want whsec_ followed by base64 of 24 to 64 random bytes"},
		{[]string{"--secret", recvTestSecret, "--secret", "whsec_"}, "secret #2: invalid secret: empty"},
		{[]string{"--secret", recvTestSecret, "--listen", "nonsense"}, "host:port"},
		{[]string{"--secret", recvTestSecret, "--max-body", "lots"}, "want a positive size"},
		{[]string{"--secret", recvTestSecret, "--process-failure-ratio", "2"}, "outside 0..1"},
		{[]string{"--secret", recvTestSecret, "extra"}, "unknown command"},
		{[]string{"--secret", recvTestSecret, "--dedupe-ttl", "0s"}, "--dedupe-ttl must be positive"},
	}
	for _, c := range cases {
		got, _, stderr := runOnce(context.Background(), "", append([]string{"receiver", "--listen", "127.0.0.1:0"}, c.args...)...)
		if got != exitError || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want exit %d mentioning %q", c.args, got, stderr, exitError, c.want)
		}
		if strings.Contains(stderr, "nope") {
			t.Errorf("%v: the error repeats the secret: %q", c.args, stderr)
		}
	}
}

// Finding 9: a 1-byte secret starts, with a warning on stderr.
func TestReceiverWarnsOfShortSecret(t *testing.T) {
	s := startServer(t, nil, 1, "receiver", "--listen", "127.0.0.1:0", "--secret", "whsec_AA==", "--quiet")
	s.stop(t)
	if got := s.stderr.String(); !strings.Contains(got, "receiver: warning: secret #1 has a 1-byte key") {
		t.Errorf("stderr %q, want a warning about the 1-byte secret", got)
	}
}
