package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hookrig/hookrig/internal/pgtest"
)

const pgScenario = `name: pg-quick
sender:
  instances: 2
  store: postgres
  workers: 8
receiver:
  instances: 2
  dedupe: postgres
load:
  phases:
    - {pacer: constant:40, duration: 1s}
drain: {timeout: 30s}
assertions:
  - lost == 0
`

// hookrig run --postgres runs a scenario's instances on the server given
// and reports each instance; the JSON carries them.
func TestRunWithPostgresReportsInstances(t *testing.T) {
	dsn := pgtest.Start(t)
	path := writeScenario(t, "pg.yaml", pgScenario)
	code, out, stderr := runCLI(t, "run", path, "--postgres", dsn, "--report", "json", "--quiet")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res struct {
		Events struct {
			Accepted, Delivered int64
		}
		Attempts  struct{ Total int64 }
		Instances struct {
			Sender []struct {
				Name                  string
				Attempts, Interrupted int64
			}
			Receiver []struct {
				Name   string
				Served int64
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	in := res.Instances
	if len(in.Sender) != 2 || in.Sender[0].Name != "sender-1" || len(in.Receiver) != 2 || in.Receiver[1].Name != "receiver-2" {
		t.Fatalf("instances %+v", in)
	}
	if sum := in.Sender[0].Attempts + in.Sender[1].Attempts; sum != res.Attempts.Total || res.Events.Delivered != res.Events.Accepted || res.Events.Accepted == 0 {
		t.Errorf("instances' attempts %d, run's %d; events %+v", sum, res.Attempts.Total, res.Events)
	}
}

// A --postgres that is not a PostgreSQL URL fails the run in one line.
func TestRunPostgresBadURL(t *testing.T) {
	path := writeScenario(t, "pg.yaml", pgScenario)
	code, _, stderr := runCLI(t, "run", path, "--postgres", "mysql://db/x", "--quiet")
	if code != exitError || !strings.Contains(stderr, "postgres://USER@HOST:PORT/DB") || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
		t.Fatalf("exit %d, stderr %q: want one line naming a postgres:// URL", code, stderr)
	}
}
