package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is an output the command (its logger writes from other
// goroutines) and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func noEnv(string) string { return "" }

// runOnce runs `hookrig args...` in-process to its end, as main would,
// with stdin and an empty environment: exit code, stdout, stderr.
func runOnce(ctx context.Context, stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(ctx, args, newEnv(strings.NewReader(stdin), &out, &errb, noEnv))
	return code, out.String(), errb.String()
}

// server is a server subcommand running in-process.
type server struct {
	url    string   // from its first line, "NAME listening on URL"
	lines  []string // the first lines it printed
	stderr *syncBuffer
	cancel context.CancelFunc
	code   chan int      // its exit code, once
	done   chan struct{} // closed when run has returned
}

// startServer runs `hookrig args...` in-process with the environment
// getenv (nil: empty), reads the first n lines it prints and checks that
// the first is "<args[0]> listening on http://127.0.0.1:PORT". The server
// is stopped when the test ends, if the test has not stopped it.
func startServer(t *testing.T, getenv func(string) string, n int, args ...string) *server {
	t.Helper()
	if getenv == nil {
		getenv = noEnv
	}
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	s := &server{stderr: &syncBuffer{}, cancel: cancel, code: make(chan int, 1), done: make(chan struct{})}
	go func() {
		s.code <- run(ctx, args, newEnv(strings.NewReader(""), outW, s.stderr, getenv))
		outW.Close()
		close(s.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(20 * time.Second):
			t.Errorf("%s did not exit after the test", args[0])
		}
	})
	sc := bufio.NewScanner(outR)
	for len(s.lines) < n && sc.Scan() {
		s.lines = append(s.lines, sc.Text())
	}
	go io.Copy(io.Discard, outR)
	if len(s.lines) < n {
		cancel()
		t.Fatalf("%s printed %q, want %d lines; exit %d, stderr: %s", args[0], s.lines, n, <-s.code, s.stderr)
	}
	url, ok := strings.CutPrefix(s.lines[0], args[0]+" listening on ")
	if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("first line %q, want \"%s listening on http://127.0.0.1:PORT\"", s.lines[0], args[0])
	}
	s.url = url
	return s
}

// stop cancels the server's context, as SIGINT/SIGTERM do in main, and
// fails the test unless it exits 0 within 20 s.
func (s *server) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case c := <-s.code:
		if c != exitOK {
			t.Fatalf("exit %d after cancel; stderr: %s", c, s.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("did not shut down on cancel")
	}
}
