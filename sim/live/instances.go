package live

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookrig/hookrig/internal/httpapi"
	"github.com/hookrig/hookrig/reference/receiver"
	"github.com/hookrig/hookrig/reference/sender"
	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim/verdict"
)

// This file runs a scenario's instances (sender.instances,
// receiver.instances) live, on one PostgreSQL server:
//
//	loadgen ──▶ balancer ──▶ sender-1..N ──▶ chaos proxy ──▶ balancer ──▶ receiver-1..M
//	            round robin   one outbox in                   round robin   one dedupe window
//	                          the run's database                            in the run's database
//
// Each run gets a database of its own on the server (Options.Postgres),
// dropped at the end unless Options.Keep. The balancers are the runner's
// own: a reverse proxy on 127.0.0.1 that hands each request to the next
// instance in turn, and answers 502 for one that is down (a crashed
// sender's ingest counts as rejected, as a crashed single sender's does).

// InstanceLease is the lease of a run's sender instances on PostgreSQL:
// how long an attempt in flight on a crashed instance stays its own
// before another instance reports it interrupted and retries it. Short,
// so that a run's drain does not wait half a minute for it (the command's
// default is 30s); renewed every third of it, so a renewal late by more
// than two thirds of it (a stalled machine) makes a spurious takeover,
// reported as an interrupted attempt like any other.
const InstanceLease = 3 * time.Second

// NoPostgresError is Run's answer to a scenario on PostgreSQL without a
// server (Options.Postgres), for a command to give before it starts.
func NoPostgresError(s *scenarios.Scenario) error {
	return fmt.Errorf("scenario %s keeps its %s in PostgreSQL: give a server (--postgres postgres://USER@HOST:PORT/DB) or install postgresql so that hookrig run starts one", s.Name, postgresParts(s))
}

func postgresParts(s *scenarios.Scenario) string {
	switch {
	case s.Sender.Store == scenarios.StorePostgres && s.Receiver.Dedupe == scenarios.StorePostgres:
		return "sender's outbox and receivers' dedupe"
	case s.Sender.Store == scenarios.StorePostgres:
		return "sender's outbox"
	}
	return "receivers' dedupe"
}

// runDatabase is the database a run keeps its outbox and dedupe in,
// created on the server for this run only.
type runDatabase struct {
	server string // the server's URL, as given
	name   string
	dsn    string // the run's database
}

// createRunDatabase creates a fresh database on the server at serverURL.
func createRunDatabase(ctx context.Context, serverURL string) (*runDatabase, error) {
	u, err := url.Parse(serverURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return nil, fmt.Errorf("postgres: %q is not a postgres://USER@HOST:PORT/DB URL", withoutUserInfo(serverURL))
	}
	db := &runDatabase{server: serverURL, name: "hookrig_run_" + strconv.FormatUint(rand.Uint64(), 36)}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return nil, fmt.Errorf("postgres: connecting to %s: %s", withoutUserInfo(serverURL), oneLine(err))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db.name}.Sanitize()); err != nil {
		return nil, fmt.Errorf("postgres: creating the run's database: %s", oneLine(err))
	}
	u.Path = "/" + db.name
	db.dsn = u.String()
	return db, nil
}

// drop removes the run's database, closing what is still connected.
func (db *runDatabase) drop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, db.server)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db.name}.Sanitize()+" WITH (FORCE)")
	return err
}

// oneLine joins pgx's multi-line errors (one line per address tried).
func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

// balancer is the runner's round-robin load balancer: each request goes
// to the next instance in turn, with no health checks and no retries (a
// request to an instance that is down fails, as behind a plain balancer
// that has not noticed yet).
type balancer struct {
	srv    *loopServer
	tr     *http.Transport
	served []atomic.Int64 // requests handed to each instance
}

func startBalancer(instances []string) (*balancer, error) {
	targets := make([]*url.URL, len(instances))
	for i, raw := range instances {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, err
		}
		targets[i] = u
	}
	b := &balancer{served: make([]atomic.Int64, len(targets))}
	b.tr = &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second}
	var next atomic.Uint64
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			i := int((next.Add(1) - 1) % uint64(len(targets)))
			b.served[i].Add(1)
			r.SetURL(targets[i])
		},
		Transport: b.tr,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			httpapi.WriteError(w, httpapi.Errorf(http.StatusBadGateway, "balancer: the instance did not answer: %v", err))
		},
	}
	ln, err := httpapi.Listen("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b.srv = serveOn(ln, rp)
	return b, nil
}

func (b *balancer) URL() string { return b.srv.URL() }

func (b *balancer) close() {
	b.srv.shutdown(time.Second)
	b.tr.CloseIdleConnections()
}

// startSenders starts the reference sender's instances (sender.instances
// on PostgreSQL; one on bbolt) and registers the run's endpoints through
// the first, before the others open (so each reads them at start).
func (l *live) startSenders() error {
	policy := l.policy()
	n := l.s.Sender.SenderInstances()
	for i := range n {
		cfg := sender.Config{
			DataDir:       l.dir,
			Clock:         l.clk,
			Seed:          l.s.Seed + uint64(i),
			Logger:        l.log.With("component", "sender"),
			Workers:       l.s.Sender.Workers,
			DefaultPolicy: policy,
			OnAttempt:     l.onSenderAttempt,
			ShutdownGrace: time.Second,
		}
		if l.s.Sender.Store == scenarios.StorePostgres {
			cfg.DataDir, cfg.Store, cfg.Lease = "", l.db.dsn, InstanceLease
			cfg.Instance = senderInstanceName(i)
			cfg.Logger = l.log.With("component", "sender", "instance", cfg.Instance)
		}
		h := &senderHost{clk: l.clk, cfg: cfg}
		if err := h.start("127.0.0.1:0"); err != nil {
			if n > 1 {
				return fmt.Errorf("sender %s: %w", cfg.Instance, err)
			}
			return fmt.Errorf("sender: %w", err)
		}
		l.hosts = append(l.hosts, h)
		if i > 0 {
			continue
		}
		l.host = h
		if l.fleet != nil {
			if err := l.createFleetEndpoints(sender.EndpointSpec{Secret: l.secret, Scheme: l.opts.Scheme, Policy: &policy}); err != nil {
				return err
			}
		} else if _, err := h.createEndpoint(sender.EndpointSpec{URL: l.deliverTo, Secret: l.secret, Scheme: l.opts.Scheme, Policy: &policy}); err != nil {
			return fmt.Errorf("sender: endpoint %s: %w", l.deliverTo, err)
		}
	}
	if n > 1 {
		urls := make([]string, n)
		for i, h := range l.hosts {
			urls[i] = h.URL()
		}
		b, err := startBalancer(urls)
		if err != nil {
			return fmt.Errorf("the senders' balancer: %w", err)
		}
		l.ingest = b
	}
	return nil
}

func senderInstanceName(i int) string   { return "sender-" + strconv.Itoa(i+1) }
func receiverInstanceName(i int) string { return "receiver-" + strconv.Itoa(i+1) }

// ingestURL is where the load generator posts events: the senders'
// balancer, or the one sender.
func (l *live) ingestURL() string {
	if l.ingest != nil {
		return l.ingest.URL()
	}
	return l.host.URL()
}

// startReceivers starts the reference receiver's instances behind the
// run's balancer, sharing their dedupe window in the run's database when
// the scenario says so, and returns the balancer as the proxy's upstream.
func (l *live) startReceivers() (string, error) {
	n := l.s.Receiver.ReceiverInstances()
	urls := make([]string, n)
	for i := range n {
		cfg := l.receiverConfig(l.s.Receiver)
		cfg.Logger = l.log.With("component", "receiver", "instance", receiverInstanceName(i))
		if l.s.Receiver.Dedupe == scenarios.StorePostgres {
			cfg.Dedupe.DSN = l.db.dsn
		}
		if l.opts.Keep {
			cfg.JournalPath = filepath.Join(l.dir, fmt.Sprintf("receipts-%d.jsonl", i+1))
		}
		rcv, err := receiver.New(cfg)
		if err != nil {
			return "", fmt.Errorf("receiver %s: %w", receiverInstanceName(i), err)
		}
		l.rcvs = append(l.rcvs, rcv)
		ln, err := httpapi.Listen("127.0.0.1:0")
		if err != nil {
			return "", fmt.Errorf("receiver: %w", err)
		}
		srv := serveOn(ln, rcv.Handler())
		l.rcvInstances = append(l.rcvInstances, srv)
		urls[i] = srv.URL()
	}
	if n == 1 {
		return urls[0], nil
	}
	b, err := startBalancer(urls)
	if err != nil {
		return "", fmt.Errorf("the receivers' balancer: %w", err)
	}
	l.rcvBalancer = b
	return b.URL(), nil
}

// multiReceiver says the run starts its receivers through startReceivers.
func (l *live) multiReceiver() bool {
	r := l.s.Receiver
	return l.fleet == nil && l.endpointURL == "" && (r.ReceiverInstances() > 1 || r.Dedupe == scenarios.StorePostgres)
}

// senderStats are the sender's counts and whether any instance is down.
// On PostgreSQL the counts are the database's, whichever instance reads
// them, but in flight is each instance's own and is summed.
func (l *live) senderStats() (sender.Stats, bool) {
	var out sender.Stats
	var inFlight int
	anyDown, read := false, false
	for _, h := range l.hosts {
		st, down := h.stats()
		if down {
			anyDown = true
			continue
		}
		if !read {
			out, read = st, true
		}
		inFlight += st.InFlight
	}
	if !read && len(l.hosts) > 0 {
		out, _ = l.hosts[0].stats() // all down: the first one's last counts
	}
	if read {
		out.InFlight = inFlight
	}
	return out, anyDown
}

// scheduleCrashes kills and restarts sender instances on the scenario's
// timeline, each instance's crashes in order. stop cancels crashes not
// yet due and restarts instances that are down; done yields the first
// restart error (or nil) once finished.
func (l *live) scheduleCrashes() (done <-chan error, stop func()) {
	out := make(chan error, 1)
	quit := make(chan struct{})
	var once sync.Once
	stop = func() { once.Do(func() { close(quit) }) }
	byHost := map[int][]scenarios.Crash{}
	for _, c := range l.s.Sender.Crashes {
		i := max(c.Instance, 1) - 1
		byHost[i] = append(byHost[i], c)
	}
	errs := make(chan error, len(byHost))
	var wg sync.WaitGroup
	for i, crashes := range byHost {
		wg.Go(func() { errs <- l.crashInstance(i, crashes, quit) })
	}
	go func() {
		wg.Wait()
		close(errs)
		var first error
		for err := range errs {
			if first == nil {
				first = err
			}
		}
		out <- first
	}()
	return out, stop
}

// crashInstance runs one instance's crashes.
func (l *live) crashInstance(i int, crashes []scenarios.Crash, quit <-chan struct{}) error {
	h := l.hosts[i]
	for _, c := range crashes {
		if !l.sleepUntil(c.At, quit) {
			return nil
		}
		l.log.Info("crashing the sender", "instance", h.cfg.Instance, "at", c.At, "down", c.Down)
		h.crash()
		l.sendersDown.Add(1)
		l.sleepUntil(c.At+c.Down, quit) // a stop restarts it early
		err := h.restart()
		l.sendersDown.Add(-1)
		if err != nil {
			if len(l.hosts) > 1 {
				return fmt.Errorf("sender %s: %w", h.cfg.Instance, err)
			}
			return err
		}
	}
	return nil
}

// instances reads what each instance did, for Result.Instances: the
// sender's from the database's attempt records, the receivers' from each.
func (l *live) instances(ctx context.Context) (*verdict.Instances, error) {
	var out verdict.Instances
	if l.db != nil && l.s.Sender.Store == scenarios.StorePostgres && len(l.hosts) > 0 {
		counts, err := sender.AttemptsByInstance(ctx, l.db.dsn)
		if err != nil {
			return nil, err
		}
		by := map[string]sender.InstanceAttempts{}
		for _, c := range counts {
			by[c.Instance] = c
		}
		for i := range l.hosts {
			name := senderInstanceName(i)
			c := by[name]
			delete(by, name)
			out.Sender = append(out.Sender, verdict.SenderInstance{Name: name, Attempts: c.Attempts, Interrupted: c.Interrupted})
		}
		if len(by) > 0 {
			return nil, errors.New("the run's database holds attempts of instances the run did not start")
		}
	}
	if l.rcvs != nil {
		for i, rcv := range l.rcvs {
			out.Receiver = append(out.Receiver, verdict.ReceiverInstance{Name: receiverInstanceName(i), Served: int64(rcv.Stats().Received)})
		}
	}
	if out.Sender == nil && out.Receiver == nil {
		return nil, nil
	}
	return &out, nil
}
