package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --trigger takes a template inline or from @FILE; errors name the file
// (or the flag) and what was wrong.
func TestReadTrigger(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "emit.http")
	bad := filepath.Join(dir, "bad.http")
	if err := os.WriteFile(good, []byte(`POST http://127.0.0.1:9/emit {"id":"{{.ID}}"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(`POST ftp://x {}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, flag := range []string{`POST http://127.0.0.1:9/emit {"id":"{{.ID}}"}`, "@" + good} {
		if tr, err := readTrigger(flag); err != nil || tr == nil {
			t.Errorf("readTrigger(%q): %v, %v", flag, tr, err)
		}
	}
	for flag, want := range map[string]string{
		"POST ftp://x {}":                "--trigger",
		"@" + bad:                        bad,
		"@" + filepath.Join(dir, "none"): "--trigger: open",
	} {
		if _, err := readTrigger(flag); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("readTrigger(%q): error %v; want one naming %q", flag, err, want)
		}
	}
}
