package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestChaosCommand(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer up.Close()
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	os.WriteFile(rules, []byte("rules:\n  - {name: teapot, match: 'header(\"x-chaos\") == \"1\"', fault: {type: status, code: 418}}\n"), 0o644)

	token := func(k string) string {
		if k == "HOOKRIG_CONTROL_TOKEN" {
			return "tok"
		}
		return ""
	}
	s := startServer(t, token, 2, "chaos", "--upstream", up.URL, "--listen", "127.0.0.1:0", "--control", "127.0.0.1:0", "--rules", rules, "--seed", "7",
		"--sched-slice", "0") // in process: the test binary's threads keep their slices
	proxyURL := s.url
	m := regexp.MustCompile(`control (http://127\.0\.0\.1:\d+) · seed 7 · 1 rules`).FindStringSubmatch(s.lines[1])
	if m == nil {
		t.Fatalf("second line %q", s.lines[1])
	}
	control := m[1]

	req, _ := http.NewRequest("POST", proxyURL+"/hook", strings.NewReader("{}"))
	req.Header.Set("x-chaos", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 418 {
		t.Fatalf("faulted request: %v %v", resp, err)
	}
	resp.Body.Close()
	if resp, err := http.Post(proxyURL+"/hook", "application/json", strings.NewReader("{}")); err != nil || resp.StatusCode != 200 {
		t.Fatalf("plain request: %v %v", resp, err)
	}

	// The token came from the environment.
	if resp, err := http.Get(control + "/v1/stats"); err != nil || resp.StatusCode != 401 {
		t.Fatalf("stats without token: %v %v", resp, err)
	}
	req, _ = http.NewRequest("GET", control+"/v1/stats", nil)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var stats struct{ Requests, Injected int }
	json.NewDecoder(resp.Body).Decode(&stats)
	resp.Body.Close()
	if stats.Requests != 2 || stats.Injected != 1 {
		t.Errorf("stats %+v", stats)
	}

	s.stop(t)
}

func TestChaosCommandBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("rules:\n  - name: x\n    fault: {type: status, code: 503}\n    probability: 1.5\n"), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"chaos", "--listen", "127.0.0.1:0", "--control", "127.0.0.1:0"}, `required flag(s) "upstream" not set`},
		{[]string{"chaos", "--upstream", "ftp://x", "--listen", "127.0.0.1:0", "--control", "127.0.0.1:0"}, "want an http:// or https:// URL"},
		{[]string{"chaos", "--upstream", "http://127.0.0.1:1", "--rules", bad, "--listen", "127.0.0.1:0", "--control", "127.0.0.1:0"}, bad + `:2:5: rule "x": probability must be between 0 and 1, got 1.5`},
		{[]string{"chaos", "--upstream", "http://127.0.0.1:1", "--rules", filepath.Join(dir, "missing.yaml")}, "no such file"},
	}
	for _, c := range cases {
		if code, _, stderr := runOnce(context.Background(), "", c.args...); code != exitError || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, stderr, c.want)
		}
	}
}
