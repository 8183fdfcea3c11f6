// Package pgtest starts a real PostgreSQL cluster for a test
// (internal/pgcluster): its own data directory in a temporary directory,
// its own port on 127.0.0.1, stopped when the test ends. Tests of code
// that runs on PostgreSQL use it instead of a mock of the database; on a
// machine without PostgreSQL's server binaries they are skipped, saying
// why.
package pgtest

import (
	"errors"
	"testing"

	"github.com/hookrig/hookrig/internal/pgcluster"
)

// installHint is what a skipped test says.
const installHint = "PostgreSQL server binaries (initdb, postgres) not found in PATH or /usr/lib/postgresql/*/bin; install them (Debian: apt-get install postgresql) to run this test"

// Server is a running cluster.
type Server struct {
	// DSN connects to the cluster's postgres database as its superuser.
	DSN string
	c   *pgcluster.Cluster
}

// Start starts a cluster for t and returns its DSN; it is stopped in
// t.Cleanup. Without PostgreSQL binaries the test is skipped.
func Start(t testing.TB) string {
	t.Helper()
	return StartServer(t).DSN
}

// StartServer is Start, returning the Server so that a test can stop the
// database early (to see what its code does without one).
func StartServer(t testing.TB) *Server {
	t.Helper()
	c, err := pgcluster.Start()
	if errors.Is(err, pgcluster.ErrNoBinaries) {
		t.Skip(installHint)
	}
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(c.Close)
	return &Server{DSN: c.DSN, c: c}
}

// Stop stops the server and waits for it to exit. Only the first call
// does work.
func (s *Server) Stop() { s.c.Stop() }
