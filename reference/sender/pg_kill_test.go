package sender

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/internal/pgtest"
	"github.com/hookrig/hookrig/reference/sender/delivery"
)

// The kill -9 test runs sender instances as child processes: this test
// binary again, running TestPGSenderProcess with childEnv set.
const (
	childEnv      = "HOOKRIG_PG_SENDER_CHILD"
	childDSNEnv   = "HOOKRIG_PG_SENDER_DSN"
	childLeaseEnv = "HOOKRIG_PG_SENDER_LEASE"
)

// childWorkers is each child's worker count: the endpoint holds requests
// until every worker of every child is busy.
const childWorkers = 4

// TestPGSenderProcess is a sender instance for the kill -9 test: it
// delivers from the database until its stdin closes (or it is killed),
// and prints a line per attempt it records.
func TestPGSenderProcess(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("a child process of TestPGKillOneOfThree")
	}
	lease, err := time.ParseDuration(os.Getenv(childLeaseEnv))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	s, err := Open(Config{Store: os.Getenv(childDSNEnv), Instance: os.Getenv(childEnv), Workers: childWorkers, Lease: lease, Seed: 7,
		OnAttempt: func(r AttemptReport) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(out, "attempt %s %d %s %s\n", r.EventID, r.Attempt.N, r.Decision, r.Attempt.Err)
			out.Flush()
		}})
	if err != nil {
		t.Fatal(err)
	}
	s.Start(context.Background())
	mu.Lock()
	fmt.Fprintln(out, "ready")
	out.Flush()
	mu.Unlock()
	io.Copy(io.Discard, os.Stdin)
	s.Close()
}

// child is a running sender instance.
type child struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	read  chan struct{} // closed once its stdout is read to the end
}

// wait waits for the child to exit, once its output is all read (Wait
// closes the pipe: lines not yet read would be lost).
func (c *child) wait() error {
	<-c.read
	return c.cmd.Wait()
}

// Kill -9 of one of three instances in the middle of its attempts: every
// accepted event is delivered once the victim's leases expire, nothing is
// lost, and an event is received twice only when an attempt of it is
// reported interrupted (and the copies never overlap).
func TestPGKillOneOfThree(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and three processes")
	}
	dsn := pgtest.Start(t)
	const lease = 5 * time.Second
	const events = 300
	const instances = 3
	busy := instances * childWorkers

	// The endpoint holds every request until all workers of all
	// instances are busy with one, so that the victim dies with
	// childWorkers attempts in flight.
	x := &exclusiveEndpoint{inflight: map[string]bool{}}
	var mu sync.Mutex
	hits := map[string]int{}
	held := 0
	allBusy, release := make(chan struct{}), make(chan struct{})
	e := newEndpoint(t, clock.Real{}, func(h hit, w http.ResponseWriter, r *http.Request) {
		x.enter(h.ID)
		defer x.leave(h.ID)
		mu.Lock()
		hits[h.ID]++
		held++
		if held == busy {
			close(allBusy)
		}
		mu.Unlock()
		select {
		case <-release:
		case <-time.After(3 * wait): // bounded: a failed test still ends
		}
		w.WriteHeader(http.StatusOK)
	})

	setup := openPGHarness(t, dsn, Config{Instance: "setup"}) // never started: it only writes and reads rows
	p := delivery.DefaultPolicy()
	p.Backoff = delivery.Backoff{Base: 20 * time.Millisecond, Factor: 2, Cap: 200 * time.Millisecond}
	p.MaxAttempts, p.Concurrency, p.AttemptTimeout = 0, 16, time.Minute
	p.Breaker = delivery.BreakerPolicy{}
	ep := setup.endpoint(t, e.srv.URL, &p)
	var specs []EventSpec
	for i := range events {
		specs = append(specs, ev(ep.ID, "", fmt.Sprintf(`{"n":%d}`, i)))
	}
	accepted := setup.enqueue(t, specs...)

	lines := make(chan string, 10*events)
	var children []*child
	for i := range instances {
		c := &child{name: "i" + strconv.Itoa(i), read: make(chan struct{})}
		c.cmd = exec.Command(os.Args[0], "-test.run=^TestPGSenderProcess$", "-test.count=1")
		c.cmd.Env = append(os.Environ(), childEnv+"="+c.name, childDSNEnv+"="+dsn, childLeaseEnv+"="+lease.String())
		c.cmd.Stderr = os.Stderr
		stdout, err := c.cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if c.stdin, err = c.cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
		if err := c.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.cmd.Process.Kill(); c.cmd.Wait() })
		go func() {
			defer close(c.read)
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- c.name + " " + sc.Text()
			}
		}()
		children = append(children, c)
	}

	select {
	case <-allBusy:
	case <-time.After(2 * wait):
		t.Fatalf("the instances did not fill their %d workers within %v", busy, 2*wait)
	}
	victim := children[0]
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	victim.wait()
	killedAt := time.Now().UnixNano()
	close(release)

	// Every event delivered, as the instances report it.
	delivered := map[string]bool{}
	interrupted := map[string]int{}
	note := func(l string) {
		f := strings.Fields(l) // instance "attempt" id n decision [err]
		if len(f) < 5 || f[1] != "attempt" {
			return
		}
		switch f[4] {
		case delivery.Delivered.String():
			delivered[f[2]] = true
		case delivery.RetryAt.String():
			if len(f) > 5 && f[5] == string(delivery.ErrInterrupted) {
				interrupted[f[2]]++
			}
		default:
			t.Errorf("unexpected report: %s", l)
		}
	}
	deadline := time.After(4 * wait)
	for len(delivered) < events {
		select {
		case l := <-lines:
			note(l)
		case <-deadline:
			t.Fatalf("%d of %d events delivered within %v", len(delivered), events, 4*wait)
		}
	}
	for _, c := range children[1:] {
		c.stdin.Close() // a graceful stop
		if err := c.wait(); err != nil {
			t.Errorf("instance %s: %v", c.name, err)
		}
	}
	for len(lines) > 0 { // every child's output is read: what is left is here
		note(<-lines)
	}

	// The database's own records agree.
	attempts := pgAttempts(t, dsn)
	checkNoOverlap(t, attempts)
	recorded, dups := 0, 0
	for _, id := range accepted {
		var intr int
		for _, a := range attempts[id] {
			if a.err != string(delivery.ErrInterrupted) {
				continue
			}
			intr++
			if a.instance != victim.name {
				t.Errorf("event %s: attempt %d by %s reported interrupted; only the killed instance %s was", id, a.n, a.instance, victim.name)
			}
			if a.at > killedAt {
				t.Errorf("event %s: interrupted attempt %d began after the kill", id, a.n)
			}
		}
		if intr != interrupted[id] {
			t.Errorf("event %s: %d interrupted attempts recorded, %d reported", id, intr, interrupted[id])
		}
		recorded += intr
		ev, err := setup.Event(id)
		if err != nil {
			t.Fatal(err)
		}
		if ev.State != StateDelivered {
			t.Errorf("event %s is %s; want delivered", id, ev.State)
		}
		mu.Lock()
		n := hits[id]
		mu.Unlock()
		if n == 0 {
			t.Errorf("event %s never reached the endpoint", id)
		}
		if n-1 > intr {
			t.Errorf("event %s received %d times with %d attempts reported interrupted: an unreported duplicate", id, n, intr)
		}
		dups += n - 1
	}
	if recorded != childWorkers {
		t.Errorf("%d attempts reported interrupted; want the %d the killed instance had in flight", recorded, childWorkers)
	}
	if len(x.overlaps) > 0 {
		t.Errorf("the endpoint saw %d webhook-ids arrive while a copy was in flight: %v", len(x.overlaps), x.overlaps)
	}
	st := setup.Stats()
	if st.Accepted != events || st.Delivered != events || st.Interrupted != uint64(recorded) {
		t.Errorf("stats %+v; want %d accepted and delivered, %d interrupted", st, events, recorded)
	}
	t.Logf("events %d, delivered %d, interrupted %d, duplicates received %d", events, len(delivered), recorded, dups)
}
