package live_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hookrig/hookrig/internal/pgtest"
	"github.com/hookrig/hookrig/sim/internal/simtest"
	"github.com/hookrig/hookrig/sim/live"
)

// Three sender instances share one outbox in PostgreSQL, two receivers
// share one dedupe window behind the run's balancer, and sender-2 is
// killed mid-run: every accepted event is delivered once its leases
// expire, nothing is lost, every duplicate comes from an attempt reported
// interrupted, and the per-instance counts, read from the database's
// attempt records, add up to the run's.
func TestInstancesOnPostgresSurviveACrash(t *testing.T) {
	dsn := pgtest.Start(t)
	s := simtest.Parse(t, "pg-instances", `
sender:
  instances: 3
  store: postgres
  workers: 8
  policy:
    backoff: {base: 50ms, factor: 2, cap: 500ms}
    max_attempts: 20
  crashes:
    - {at: 1s, instance: 2, down: 1s}
receiver:
  instances: 2
  dedupe: postgres
load:
  phases:
    - {pacer: constant:60, duration: 3s}
faults:
  - name: network-delay             # so that attempts are in flight at the crash
    fault: {type: latency, distribution: uniform, min: 100ms, max: 300ms}
drain: {timeout: 60s}
assertions:
  - lost == 0
`)
	res := run(t, s, live.Options{Postgres: dsn})
	e := res.Events
	t.Logf("accepted %d, delivered %d, duplicated %d, attempts %d, rejected at ingest %d, instances %+v",
		e.Accepted, e.Delivered, e.Duplicated, res.Attempts.Total, res.Load.Rejected, res.Instances)
	if e.Accepted == 0 || e.Delivered != e.Accepted || e.Lost != 0 || e.Pending != 0 || e.DeadLettered != 0 {
		t.Errorf("events %+v: want every accepted event delivered", e)
	}
	if res.Load.Rejected == 0 {
		t.Error("no ingest was refused: the crashed instance's share of the load should have been, while it was down")
	}
	inst := res.Instances
	if inst == nil || len(inst.Sender) != 3 || len(inst.Receiver) != 2 {
		t.Fatalf("instances %+v: want 3 senders and 2 receivers", inst)
	}
	var attempts, interrupted int64
	for i, si := range inst.Sender {
		if want := []string{"sender-1", "sender-2", "sender-3"}[i]; si.Name != want {
			t.Errorf("sender instance %d is %q, want %q", i, si.Name, want)
		}
		if si.Attempts == 0 {
			t.Errorf("%s made no attempt: the load should reach every instance", si.Name)
		}
		attempts += si.Attempts
		interrupted += si.Interrupted
	}
	if attempts != res.Attempts.Total {
		t.Errorf("the instances' attempts add up to %d, the run counted %d", attempts, res.Attempts.Total)
	}
	if e.Duplicated > interrupted {
		t.Errorf("%d events duplicated, but only %d attempts were interrupted", e.Duplicated, interrupted)
	}
	var served int64
	for _, ri := range inst.Receiver {
		if ri.Served == 0 {
			t.Errorf("%s served nothing: the balancer should spread requests", ri.Name)
		}
		served += ri.Served
	}
	if served != res.Receipts.Total {
		t.Errorf("the receivers served %d requests, the run has %d receipts", served, res.Receipts.Total)
	}
	for _, a := range res.Assertions {
		if !a.Passed {
			t.Errorf("%s: %s", a.Expr, a.Message)
		}
	}
}

// Without a server a scenario on PostgreSQL is refused, in one line that
// says what to do.
func TestInstancesWithoutPostgresRefused(t *testing.T) {
	s := simtest.Parse(t, "pg-none", simtest.Quick+"  keys: 0\nreceiver: {dedupe: postgres}\n")
	_, err := live.Run(context.Background(), s, live.Options{})
	if err == nil || !strings.Contains(err.Error(), "--postgres") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("got %v, want a one-line error naming --postgres", err)
	}
}
