package chaos

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// childEnv marks the re-executed test binary that runs the proxy under a
// low descriptor limit.
const childEnv = "HOOKRIG_CHAOS_CONNCAP_CHILD"

// childFiles is the child's descriptor limit; idleConns is well past it.
const (
	childFiles = 256
	idleConns  = 400
)

// Issue 17 finding 8: clients holding more idle keep-alive connections
// than the proxy has descriptors made it time out every probe (accept4:
// too many open files). The proxy runs in a child process (this test
// binary re-executed) with RLIMIT_NOFILE at 256, so the clients in this
// process do not share its limit; 400 connections each make a request
// and stay open; a probe on a new connection must still be answered.
func TestConnectionCapKeepsProbesAnswered(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("in the child")
	}
	// The upstream runs here, not in the child: under the child's limit
	// its own accepts would compete with the proxy for descriptors, and a
	// slow machine would then leave the held connections busy, not idle.
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.TrimPrefix(r.URL.Path, "/")+" ok")
	}))
	t.Cleanup(up.Close)
	cmd := exec.Command(os.Args[0], "-test.run", "^TestConnCapChild$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+up.URL)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close() // the child stops when its stdin closes
		cmd.Wait()
	})
	addr := ""
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "proxy "); ok {
			addr = a
			break
		}
	}
	if addr == "" {
		t.Fatal("the child printed no proxy address")
	}
	go io.Copy(io.Discard, stdout)

	// Every connection sends one request and keeps the connection; the
	// answers are read with one shared deadline, so the load is bounded
	// in time whatever the proxy does.
	deadline := time.Now().Add(5 * time.Second)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	answered := 0
	for range idleConns {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			continue
		}
		conns = append(conns, c)
		wg.Go(func() {
			c.SetDeadline(deadline)
			io.WriteString(c, "GET /idle HTTP/1.1\r\nHost: x\r\n\r\n")
			if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
				resp.Body.Close()
				mu.Lock()
				answered++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	t.Logf("%d connections opened, %d answered", len(conns), answered)

	for i := range 3 {
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Get("http://" + addr + "/probe")
		if err != nil {
			t.Fatalf("probe %d with %d idle connections open: %v", i, len(conns), err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "probe ok" {
			t.Fatalf("probe %d: %d %q", i, resp.StatusCode, b)
		}
	}
}

// TestConnCapChild is the child's side: the proxy, in front of the
// parent's upstream (childEnv holds its URL), under a descriptor limit of
// childFiles, the proxy's cap set for it as the
// command sets it. It serves until its stdin closes.
func TestConnCapChild(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("run by TestConnectionCapKeepsProbesAnswered")
	}
	lim := syscall.Rlimit{Cur: childFiles, Max: childFiles}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{Upstream: os.Getenv(childEnv), MaxConns: (childFiles - 64) / 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	fmt.Printf("proxy %s\n", p.Addr())
	io.Copy(io.Discard, os.Stdin)
}
