package main

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

func TestSenderCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, nil, 1, "sender", "--listen", "127.0.0.1:0", "--data", dir, "--no-dispatch", "--schedule", "svix")
	url := s.url
	post := func(path, body string) map[string]any {
		resp, err := http.Post(url+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("POST %s: %d %v", path, resp.StatusCode, v)
		}
		return v
	}
	ep := post("/v1/endpoints", `{"url": "http://127.0.0.1:9/hooks"}`)
	sched := ep["policy"].(map[string]any)["schedule"].([]any)
	if max := ep["policy"].(map[string]any)["max_attempts"]; len(sched) != 8 || sched[2] != "5m0s" || max != 0.0 {
		t.Fatalf("--schedule svix gave %v, max_attempts %v (want 0: one attempt per entry)", sched, max)
	}
	post("/v1/events", `{"endpoint": "`+ep["id"].(string)+`", "type": "a", "payload": {}}`)
	s.stop(t)
	if logs := s.stderr.String(); !strings.Contains(logs, "accepted=1") || !strings.Contains(logs, "pending=1") {
		t.Fatalf("shutdown log: %s", logs)
	}
}

func TestSenderCommandErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--schedule", "0s,soon"}, `--schedule: entry 2 "soon"`},
		{[]string{"--policy", `{"max_age": 5}`}, "policy.max_age: 5 is not a duration string"},
		{[]string{"--policy", "@/nonexistent/policy.json"}, "no such file"},
		{[]string{"--concurrency", "0"}, "policy.concurrency: must be at least 1"},
		{[]string{"--backoff-factor", "0.5"}, "policy.backoff.factor"},
		{[]string{"--max-body", "lots"}, "want a positive size"},
		{[]string{"--listen", "nonsense"}, "host:port"},
		{[]string{"--listen", "0.0.0.0:0"}, "without a token"},
		{[]string{"--data", "/dev/null/x"}, "data directory"},
		{[]string{"--retain", "-1s"}, `--retain "-1s": expected a duration such as 24h or 30m, 0 or forever`},
		{[]string{"--retain", "forever", "--store", "postgres://127.0.0.1:9/x"}, "--retain applies to the bbolt outbox"},
		{[]string{"extra"}, "unknown command"},
	}
	for _, c := range cases {
		args := append([]string{"sender", "--listen", "127.0.0.1:0", "--data", t.TempDir()}, c.args...)
		if got, _, logs := runOnce(context.Background(), "", args...); got != exitError || !strings.Contains(logs, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want exit %d mentioning %q", c.args, got, logs, exitError, c.want)
		}
	}
}
