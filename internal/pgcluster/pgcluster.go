// Package pgcluster starts a throwaway PostgreSQL cluster from the
// server binaries installed on this machine (Debian's
// /usr/lib/postgresql/VERSION/bin, or initdb and postgres in PATH): its
// own data directory in a temporary directory, its own port on
// 127.0.0.1, no durability (fsync off: it is thrown away). Tests start
// one through internal/pgtest; `hookrig run` starts one for a scenario on
// PostgreSQL when no --postgres server is given.
package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// SystemUser runs the cluster when this process is root: PostgreSQL
// refuses to run as root.
const SystemUser = "hookrig-pg"

// startTimeout bounds how long the server may take to accept connections.
const startTimeout = 30 * time.Second

// ErrNoBinaries says this machine has no PostgreSQL server binaries.
var ErrNoBinaries = errors.New("PostgreSQL server binaries (initdb, postgres) not found in PATH or /usr/lib/postgresql/*/bin (Debian: apt-get install postgresql)")

// Cluster is a running throwaway cluster.
type Cluster struct {
	// DSN connects to the cluster's postgres database as its superuser.
	DSN    string
	bin    string
	dir    string
	cmd    *exec.Cmd
	cred   *syscall.Credential
	exited chan struct{}
}

// Available says whether Start can find the server binaries.
func Available() bool {
	_, ok := findBin()
	return ok
}

// Start initialises and starts a cluster, and waits until it accepts
// connections. Close stops it and removes its directory. Without the
// binaries it returns ErrNoBinaries.
func Start() (*Cluster, error) {
	bin, ok := findBin()
	if !ok {
		return nil, ErrNoBinaries
	}
	c := &Cluster{bin: bin, exited: make(chan struct{})}
	cred, owner, err := runAs()
	if err != nil {
		return nil, err
	}
	c.cred = cred
	// A test's t.TempDir has root's 0700 parents when run as root: the
	// cluster's user could not reach them, so the directory is made
	// under os.TempDir.
	dir, err := os.MkdirTemp("", "hookrig-pg-")
	if err != nil {
		return nil, err
	}
	c.dir = dir
	fail := func(err error) (*Cluster, error) {
		os.RemoveAll(dir)
		return nil, err
	}
	if owner != nil {
		if err := os.Chown(dir, owner.uid, owner.gid); err != nil {
			return fail(fmt.Errorf("chown %s: %v", dir, err))
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := c.run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"); err != nil {
		return fail(fmt.Errorf("initdb: %v: %s", err, strings.TrimSpace(string(out))))
	}
	port, err := freePort()
	if err != nil {
		return fail(err)
	}
	logf, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		return fail(err)
	}
	// fsync off: the cluster is thrown away, and what is measured on it
	// is what the code does with the database, not the disk.
	c.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+dir,
		"-c", "fsync=off", "-c", "max_connections=100")
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if err := c.cmd.Start(); err != nil {
		logf.Close()
		return fail(fmt.Errorf("starting postgres: %v", err))
	}
	go func() { c.cmd.Wait(); logf.Close(); close(c.exited) }()
	c.DSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	if err := c.waitReady(); err != nil {
		c.Stop()
		log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
		return fail(fmt.Errorf("%v\npostgres log:\n%s", err, log))
	}
	return c, nil
}

// Stop stops the server (a fast shutdown: SIGINT) and waits for it to
// exit. Only the first call does work.
func (c *Cluster) Stop() {
	select {
	case <-c.exited:
		return
	default:
	}
	c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.exited:
	case <-time.After(startTimeout):
		c.cmd.Process.Kill()
		<-c.exited
	}
}

// Close stops the server and removes its directory.
func (c *Cluster) Close() {
	c.Stop()
	os.RemoveAll(c.dir)
}

// waitReady polls until the server accepts a connection, or the deadline
// passes or the server exits.
func (c *Cluster) waitReady() error {
	deadline := time.Now().Add(startTimeout)
	backoff := 10 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, c.DSN)
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres did not accept connections within %v: %v", startTimeout, err)
		}
		select {
		case <-c.exited:
			return fmt.Errorf("postgres exited before accepting connections: %v", c.cmd.ProcessState)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 200*time.Millisecond)
	}
}

// run runs a PostgreSQL tool as the cluster's user.
func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	cmd.Dir = c.dir
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
// this process is root, then SystemUser, created when missing.
func runAs() (*syscall.Credential, *ids, error) {
	if os.Geteuid() != 0 {
		return nil, nil, nil
	}
	u, err := user.Lookup(SystemUser)
	if err != nil {
		out, aerr := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SystemUser).CombinedOutput()
		if aerr != nil {
			// Another process may have created it meanwhile.
			if u, err = user.Lookup(SystemUser); err != nil {
				return nil, nil, fmt.Errorf("running as root and cannot create user %s for PostgreSQL: %v: %s", SystemUser, aerr, out)
			}
		} else if u, err = user.Lookup(SystemUser); err != nil {
			return nil, nil, err
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, &ids{uid, gid}, nil
}

// freePort asks the kernel for a free port on 127.0.0.1. Another process
// could take it before postgres binds it; postgres then fails to start and
// Start says so.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
