package capture

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCaptureRotates: past MaxBytes the file moves to FILE.1 (FILE.1 to
// FILE.2 with Keep 2) and nothing is lost across the files kept.
func TestCaptureRotates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cap.jsonl")
	w, err := Create(path, 1000, 2)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1, 0)
	for i := range 20 {
		if err := w.Write(&Request{At: at, Method: "POST", Path: "/", Body: bytes.Repeat([]byte{byte(i)}, 100)}); err != nil {
			t.Fatal(err)
		}
	}
	st := w.Stats()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, p := range []string{path + ".2", path + ".1", path} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 1000 {
			t.Errorf("%s is %d bytes, over the cap of 1000", p, fi.Size())
		}
		got, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		total += len(got)
	}
	if _, err := os.Stat(path + ".3"); err == nil {
		t.Error("a third rotated file is kept with Keep 2")
	}
	if st.Rotations < 3 || st.Captured != 20 {
		t.Errorf("stats %+v: want 20 captured and at least 3 rotations", st)
	}
	if total >= 20 || total < 6 {
		t.Errorf("%d requests in the kept files; want the newest (fewer than 20, the oldest rotated away)", total)
	}
}

// A line that is not a captured request stops the reading with the file
// and line named; an empty capture is an error too.
func TestLoadNamesBadLines(t *testing.T) {
	dir := t.TempDir()
	for content, want := range map[string]string{
		`{"at":"2026-01-01T00:00:00Z","method":"POST","body":"e30="}` + "\n" + `{"x":1}` + "\n": "c.jsonl:2: not a captured request: want \"at\" and \"method\"",
		"not json\n": "c.jsonl:1: not a captured request (a JSON line from receiver --capture)",
		"":           "c.jsonl: no captured requests in it",
	} {
		path := filepath.Join(dir, "c.jsonl")
		os.WriteFile(path, []byte(content), 0o644)
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", content, err, want)
		}
	}
}
