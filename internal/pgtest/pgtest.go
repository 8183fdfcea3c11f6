// Package pgtest starts a real PostgreSQL cluster for a test: its own
// data directory in a temporary directory, its own port on 127.0.0.1,
// stopped when the test ends. Tests of code that runs on PostgreSQL use
// it instead of a mock of the database.
package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// systemUser runs the cluster when the tests run as root: PostgreSQL
// refuses to run as root.
const systemUser = "hookrig-pg"

// startTimeout bounds how long the server may take to accept connections.
const startTimeout = 30 * time.Second

// installHint is what a skipped test says.
const installHint = "PostgreSQL server binaries (initdb, postgres) not found in PATH or /usr/lib/postgresql/*/bin; install them (Debian: apt-get install postgresql) to run this test"

// Server is a running cluster.
type Server struct {
	// DSN connects to the cluster's postgres database as its superuser.
	DSN    string
	bin    string
	dir    string
	cmd    *exec.Cmd
	cred   *syscall.Credential
	exited chan struct{}
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
	bin, ok := findBin()
	if !ok {
		t.Skip(installHint)
	}
	s := &Server{bin: bin, exited: make(chan struct{})}
	cred, owner, err := runAs()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	s.cred = cred
	// t.TempDir's parents are root's 0700 directories when run as root:
	// the cluster's user could not reach them, so the directory is made
	// under os.TempDir and removed in Cleanup.
	dir, err := os.MkdirTemp("", "hookrig-pgtest-")
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s.dir = dir
	if owner != nil {
		if err := os.Chown(dir, owner.uid, owner.gid); err != nil {
			t.Fatalf("pgtest: chown %s: %v", dir, err)
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := s.run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"); err != nil {
		t.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	logf, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	// fsync off: the tests check what the code does with the database,
	// not the disk's durability, and a test cluster is thrown away.
	s.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+dir,
		"-c", "fsync=off", "-c", "max_connections=50")
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("pgtest: starting postgres: %v", err)
	}
	go func() { s.cmd.Wait(); logf.Close(); close(s.exited) }()
	t.Cleanup(s.Stop)
	s.DSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	if err := s.waitReady(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
		t.Fatalf("pgtest: %v\npostgres log:\n%s", err, log)
	}
	return s
}

// Stop stops the server (a fast shutdown: SIGINT) and waits for it to
// exit. Only the first call does work.
func (s *Server) Stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.exited:
	case <-time.After(startTimeout):
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// waitReady polls until the server accepts a connection, or the deadline
// passes or the server exits.
func (s *Server) waitReady() error {
	deadline := time.Now().Add(startTimeout)
	backoff := 10 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, s.DSN)
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres did not accept connections within %v: %v", startTimeout, err)
		}
		select {
		case <-s.exited:
			return fmt.Errorf("postgres exited before accepting connections: %v", s.cmd.ProcessState)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 200*time.Millisecond)
	}
}

// run runs a PostgreSQL tool as the cluster's user.
func (s *Server) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	cmd.Dir = s.dir
	return cmd.CombinedOutput()
}

// findBin finds the directory holding initdb and postgres: PATH first,
// then Debian's /usr/lib/postgresql/VERSION/bin (newest version first).
func findBin() (string, bool) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if p, err = filepath.EvalSymlinks(p); err == nil {
			dir := filepath.Dir(p)
			if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
				return dir, true
			}
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, true
		}
	}
	return "", false
}

func versionOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

type ids struct{ uid, gid int }

// runAs says whom the cluster runs as: nil (this process's user) unless
// this process is root, then systemUser, created when missing.
func runAs() (*syscall.Credential, *ids, error) {
	if os.Geteuid() != 0 {
		return nil, nil, nil
	}
	u, err := user.Lookup(systemUser)
	if err != nil {
		out, aerr := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", systemUser).CombinedOutput()
		if aerr != nil {
			// Another test process may have created it meanwhile.
			if u, err = user.Lookup(systemUser); err != nil {
				return nil, nil, fmt.Errorf("running as root and cannot create user %s for PostgreSQL: %v: %s", systemUser, aerr, out)
			}
		} else if u, err = user.Lookup(systemUser); err != nil {
			return nil, nil, err
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, &ids{uid, gid}, nil
}

// freePort asks the kernel for a free port on 127.0.0.1. Another process
// could take it before postgres binds it; postgres then fails to start and
// the test says so.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
