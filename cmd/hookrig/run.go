package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"

	"github.com/hookrig/hookrig/internal/pgcluster"
	"github.com/hookrig/hookrig/reference/sender"
	"github.com/hookrig/hookrig/reference/webhook"
	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim"
	"github.com/hookrig/hookrig/sim/live"
)

type runOptions struct {
	scenarioFlags
	receiver, receipts, trigger string
	secret, secretEnv           string
	// secretRef is the variable the replay line names for the secret
	// (set by runSecret): --secret-env's, or HOOKRIG_SECRET; "" for a
	// fresh secret.
	secretRef                  string
	proxy, data, metrics       string
	postgres                   string
	keep, verbose, noPreflight bool
	isolation                  bool
	scheme                     schemeFlags
}

// secretEnvDefault is the variable a run's secret is read from when no
// flag gives one.
const secretEnvDefault = "HOOKRIG_SECRET"

// newRunCmd runs a scenario live and prints its delivery-guarantee report.
func newRunCmd(e *env) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run [NAME|FILE]",
		Short: "Run a scenario live and report what was lost, duplicated or reordered",
		Long: `run executes a scenario (a built-in by NAME, or a YAML FILE; baseline when
none is given) live, in this process on 127.0.0.1: the load generator posts
events to hookrig's reference sender, which delivers them through the chaos
proxy (the scenario's fault timeline) to hookrig's reference receiver. Once
the load stops it drains, then checks every accepted event: delivered, lost,
duplicated, dead-lettered, pending, reordered, how long delivery took, and
whether the scenario's assertions held.

Either end can be yours: --receiver puts your endpoint behind the proxy
(add --receipts to read what it actually stored), --trigger drives your
own sender (see below). Built-in scenarios: hookrig scenarios list.

The report goes to stdout (or --out), progress and logs to stderr. Exit
status: 0 every assertion held, 1 an assertion failed, 2 the run could not
be done (bad scenario, port in use, interrupted).

` + scenarios.TriggerHelp,
		Example: `  hookrig run
  hookrig run flaky-5xx --report json --out result.json
  hookrig run my-scenario.yaml --report junit --out junit.xml
  HOOKRIG_SECRET=whsec_... hookrig run --receiver http://127.0.0.1:3000/webhooks --report junit --out report.xml
  hookrig run outage-recovery --receiver http://127.0.0.1:3000/webhooks --secret-env MY_SECRET --assert +'delivery.p99 < 2s'
  hookrig run baseline --trigger @emit.http --secret whsec_... --proxy 127.0.0.1:8081`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := scenarios.DefaultScenario
			if len(args) == 1 {
				name = args[0]
			}
			return runScenario(cmd, e, name, o)
		},
	}
	o.register(cmd)
	f := cmd.Flags()
	f.StringVar(&o.receiver, "receiver", "", "your endpoint's `URL`, put behind the chaos proxy instead of the reference receiver")
	f.StringVar(&o.receipts, "receipts", "", "with --receiver: `URL` of your endpoint's journal in the reference receiver's GET /v1/receipts format, to catch webhooks acknowledged and then dropped")
	f.StringVar(&o.trigger, "trigger", "", "drive your own sender: an HTTP request template per event, inline or @file (see above)")
	f.StringVar(&o.secret, "secret", "", "Standard Webhooks `secret` (whsec_...) shared by sender and receiver (default: $HOOKRIG_SECRET, else a fresh one; set it when either end is yours)")
	o.scheme.register(f, true)
	f.StringVar(&o.secretEnv, "secret-env", "", "read the secret from the environment variable `NAME` (the replay line names it, never the secret)")
	f.BoolVar(&o.noPreflight, "no-preflight", false, "with --receiver: do not probe the endpoint with one signed webhook before the load")
	f.StringVar(&o.proxy, "proxy", "", "`address` for the chaos proxy (default 127.0.0.1 and a free port); fix it to point your sender at it")
	f.StringVar(&o.data, "data", "", "`directory` for the sender's outbox and the receiver's journal (default: a temporary one)")
	f.BoolVar(&o.keep, "keep", false, "keep the data directory (outbox.db, receipts.jsonl) after the run")
	f.StringVar(&o.postgres, "postgres", "", "PostgreSQL server `URL` (postgres://USER@HOST:PORT/DB) for a scenario on PostgreSQL (sender.store or receiver.dedupe: postgres); the run creates a database of its own there and drops it after (default: a throwaway cluster from this machine's postgresql package)")
	f.BoolVar(&o.isolation, "isolation", false, "for a fleet (endpoints:): run the scenario again with its sick groups (faults or a rate limit) healed and report the healthy groups' p99 against that baseline (isolation.ratio; automatic when an assertion reads isolation)")
	f.StringVar(&o.metrics, "metrics", "", metricsFlagUsage)
	f.BoolVarP(&o.verbose, "verbose", "v", false, "log what the sender, proxy and receiver do (to stderr)")
	return cmd
}

func runScenario(cmd *cobra.Command, e *env, name string, o runOptions) error {
	fail := func(format string, args ...any) error {
		return &exitCodeError{exitError, fmt.Errorf("run: "+format, args...)}
	}
	// Everything the flags say is checked before anything starts.
	o.endpoint = o.receiver != ""
	s, format, err := o.open(cmd, "run", name)
	if err != nil {
		return err
	}
	o.scheme.fromScenario(cmd.Flags(), s)
	secret, err := o.runSecret(e)
	if err != nil {
		return fail("%w", err)
	}
	scheme, idFrom, err := o.scheme.build([]string{secret}, 0)
	if err != nil {
		return fail("%w", err)
	}
	if idFrom.IsNone() {
		return fail("--scheme %s carries no event id, so deliveries cannot be matched to events: give --id-from json:PATH, or id_from: in the scenario (e.g. json:id, where hookrig's payloads keep it)", scheme.Name())
	}
	if o.secret != "" && !o.quiet {
		fmt.Fprintf(e.stderr, "hookrig: the replay line names the secret by reference, --secret-env %s: set it to the secret to replay (or use --secret-env NAME instead of --secret)\n", secretEnvDefault)
	}
	opts := live.Options{
		ReceiverURL: o.receiver,
		ReceiptsURL: o.receipts,
		Secret:      secret,
		Scheme:      o.scheme.name,
		ProxyAddr:   o.proxy,
		DataDir:     o.data,
		Keep:        o.keep,
		Clock:       e.clock,
		Isolation:   o.isolation,
	}
	stopPostgres, err := o.postgresFor(e, s, &opts)
	if err != nil {
		return fail("%w", err)
	}
	defer stopPostgres()
	if o.trigger != "" {
		if opts.Trigger, err = readTrigger(o.trigger); err != nil {
			return fail("%w", err)
		}
	}
	if opts.IDFrom, err = o.scheme.idSource(); err != nil {
		return fail("%w", err)
	}
	o.runFlags = o.replayFlags()
	level := slog.LevelError
	if o.verbose {
		level = slog.LevelInfo
	}
	opts.Logger = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	if endpoint := cmp.Or(o.receiver, s.Receiver.URL); endpoint != "" && !o.noPreflight {
		var signer *webhook.Signer
		var other webhook.Scheme
		if o.scheme.isDefault() {
			if signer, err = webhook.NewSigner(secret); err != nil {
				return fail("%w", err)
			}
		} else {
			other = scheme
		}
		if err := preflight(cmd.Context(), e, endpoint, signer, other, nil, false, o.quiet); err != nil {
			return fail("%w", err)
		}
	}
	var show runProgress
	if !o.quiet {
		fmt.Fprintf(e.stderr, "hookrig: running %s (seed %d): load for %s, then a drain of up to %s\n",
			s.Name, s.Seed, s.LoadEnd(), s.Drain.Timeout)
		if note := o.profileNote(); note != "" {
			fmt.Fprintf(e.stderr, "hookrig: %s\n", note)
		}
		if s.LoadEnd() > 10*time.Minute {
			fmt.Fprintf(e.stderr, "hookrig: this scenario takes %s of real time; `hookrig sim %s` runs it in virtual time\n", s.LoadEnd(), name)
		}
		if e.stderrTTY {
			show = newRunBar(e.stderr, s.LoadEnd())
		} else {
			show = &runLines{w: e.stderr}
		}
		opts.Progress = show.update
		defer show.close() // on the error paths; done at once below
	}

	if o.metrics != "" {
		later := &laterGatherer{}
		stop, err := serveMetrics(e.stderr, "run", o.metrics, later)
		if err != nil {
			return &exitCodeError{exitError, err}
		}
		defer stop()
		opts.Metrics = later.set
	}
	res, err := sim.Run(cmd.Context(), s, opts)
	if show != nil {
		show.close() // the bar is finished before the report prints
	}
	if res == nil {
		return fail("%w", err)
	}
	res.Replay = o.replay(cmd, name, res.Mode, res.Seed)
	if note := o.profileNote(); note != "" {
		res.Notes = append(res.Notes, note)
	}
	if !o.scheme.isDefault() || strings.TrimSpace(o.scheme.idFrom) != "" {
		res.Notes = append(res.Notes, fmt.Sprintf("signature scheme %s; events matched to deliveries by --id-from %s (a receipt whose id is not an accepted event's counts as unexpected)", scheme.Name(), idFrom))
	}
	if werr := writeReport(e, res, format, o.out); werr != nil {
		return fail("writing the report: %w", werr)
	}
	if errors.Is(err, live.ErrInterrupted) {
		return fail("interrupted: the report covers what ran before the interrupt")
	}
	if err != nil {
		return fail("%w", err)
	}
	if !res.Passed {
		return &exitCodeError{exitAssertion, errors.New(res.FailureSummary())}
	}
	return nil
}

// postgresFor gives a scenario on PostgreSQL its server: --postgres, or a
// throwaway cluster started from this machine's PostgreSQL binaries
// (stopped and removed by stop). With neither, the error says what to
// do.
func (o *runOptions) postgresFor(e *env, s *scenarios.Scenario, opts *live.Options) (stop func(), err error) {
	stop = func() {}
	switch {
	case !s.NeedsPostgres(o.trigger != "", o.receiver != ""):
		if o.postgres != "" && !o.quiet {
			fmt.Fprintf(e.stderr, "hookrig: --postgres is not used: scenario %s keeps nothing in PostgreSQL\n", s.Name)
		}
		return stop, nil
	case o.postgres != "":
		opts.Postgres = o.postgres
		return stop, nil
	case !pgcluster.Available():
		return stop, live.NoPostgresError(s)
	}
	c, err := pgcluster.Start()
	if err != nil {
		first, _, _ := strings.Cut(err.Error(), "\n")
		return stop, fmt.Errorf("starting a throwaway PostgreSQL cluster: %s; give a server with --postgres URL instead", first)
	}
	if !o.quiet {
		fmt.Fprintf(e.stderr, "hookrig: started a throwaway PostgreSQL cluster for %s (--postgres URL uses yours)\n", s.Name)
	}
	opts.Postgres = c.DSN
	return c.Close, nil
}

// runSecret is the run's Standard Webhooks secret, checked: --secret, or
// the variable --secret-env names, or $HOOKRIG_SECRET; else a fresh one
// (the preflight probe and the run must sign with the same).
func (o *runOptions) runSecret(e *env) (string, error) {
	secret, from := o.secret, "--secret"
	switch {
	case o.secret != "" && o.secretEnv != "":
		return "", errors.New("give --secret or --secret-env, not both")
	case o.secretEnv != "":
		secret, from = e.getenv(o.secretEnv), "--secret-env "+o.secretEnv
		if secret == "" {
			return "", fmt.Errorf("--secret-env %s: the variable is not set or empty", o.secretEnv)
		}
	case secret == "":
		secret, from = e.getenv(secretEnvDefault), "$"+secretEnvDefault
	}
	if secret == "" {
		return sender.NewSecret(), nil
	}
	o.secretRef = cmp.Or(o.secretEnv, secretEnvDefault) // a --secret value is never written down
	if !o.scheme.standard() {
		return secret, nil // the scheme keys its HMAC with the secret's bytes
	}
	if _, err := webhook.ParseSecret(secret); err != nil {
		// The message names where the secret came from, never its value.
		return "", fmt.Errorf("%s: expected a Standard Webhooks secret, whsec_ followed by base64 (%v)", from, err)
	}
	return secret, nil
}

// replayFlags are run's own flags that determine the run, for the replay
// line: the ends that are the user's, the proxy's address and the secret
// by reference (the variable that holds it; its value never).
func (o *runOptions) replayFlags() []string {
	var out []string
	add := func(flag, v string) {
		if v != "" {
			out = append(out, flag+" "+shellQuote(v))
		}
	}
	add("--receiver", o.receiver)
	add("--receipts", o.receipts)
	add("--trigger", o.trigger)
	add("--proxy", o.proxy)
	add("--secret-env", o.secretRef)
	out = append(out, o.scheme.replayArgs()...)
	if o.noPreflight {
		out = append(out, "--no-preflight")
	}
	if o.isolation {
		out = append(out, "--isolation")
	}
	return out
}

// profileNote says in the report which assertions judged the run when
// they are not the scenario's own.
func (o *scenarioFlags) profileNote() string {
	switch o.profile {
	case scenarios.EndpointProfile:
		return "assertions: the endpoint profile (your own endpoint is judged on reliability only: nothing lost, dead-lettered or pending, redeliveries acknowledged; add latency thresholds with --assert +EXPR)"
	case "":
		return ""
	}
	return "assertions: from the command line (--assert), instead of the scenario's"
}

// runProgress shows a run's progress on stderr.
type runProgress interface {
	update(live.Progress)
	close()
}

// progressText is the one line both displays show.
func progressText(p live.Progress) string {
	var b strings.Builder
	switch {
	case p.Stage == "done":
		fmt.Fprintf(&b, "done in %s", p.Elapsed.Round(100*time.Millisecond))
	case p.Stage == "drain" && p.Interrupted:
		fmt.Fprintf(&b, "interrupted at %s: faults stopped, draining for up to %s", p.Elapsed.Round(100*time.Millisecond), p.DrainTimeout)
	case p.Stage == "drain":
		fmt.Fprintf(&b, "draining %s (up to %s)", max(p.Elapsed-p.DrainStart, 0).Round(100*time.Millisecond), p.DrainTimeout)
	default:
		fmt.Fprintf(&b, "%s/%s", p.Elapsed.Round(100*time.Millisecond), p.LoadEnd)
		if p.Phase != "" {
			fmt.Fprintf(&b, " %s", p.Phase)
		}
	}
	fmt.Fprintf(&b, " · accepted %d · delivered %d · pending %d · attempts %d · faults %d",
		p.Accepted, p.Delivered, p.Pending, p.Attempts, p.FaultsInjected)
	if p.LoadRejected > 0 {
		fmt.Fprintf(&b, " · rejected %d", p.LoadRejected)
	}
	if p.SenderDown {
		b.WriteString(" · sender DOWN")
	}
	return b.String()
}

// runLines prints a plain line per update, for logs and CI where a
// progress bar would print nothing.
type runLines struct{ w io.Writer }

func (l *runLines) update(p live.Progress) { fmt.Fprintf(l.w, "run: %s\n", progressText(p)) }
func (l *runLines) close()                 {}

// The bar is closed twice (once at the end of the run, once deferred):
// only the first counts.

// runBar draws the run on a terminal: the bar fills over the load, and
// the text says what the drain is doing after it.
type runBar struct {
	mu    sync.Mutex
	text  string
	p     *mpb.Progress
	bar   *mpb.Bar
	total int64
	once  sync.Once
}

func newRunBar(w io.Writer, loadEnd time.Duration) *runBar {
	b := &runBar{total: max(loadEnd.Milliseconds(), 1)}
	b.p = mpb.New(mpb.WithOutput(w), mpb.ForceTTY(), mpb.WithWidth(100), mpb.WithRefreshRate(200*time.Millisecond))
	b.bar = textBar(b.p, b.total, "run ", func() string {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.text
	})
	return b
}

func (b *runBar) update(p live.Progress) {
	b.mu.Lock()
	b.text = progressText(p)
	b.mu.Unlock()
	// A bar that reaches its total is finished and drawn no more: it
	// stops one short until the run is done, so the drain shows too.
	cur := min(p.Elapsed.Milliseconds(), b.total-1)
	if p.Stage == "done" {
		cur = b.total
	}
	b.bar.SetCurrent(cur)
}

func (b *runBar) close() {
	b.once.Do(func() {
		b.bar.SetTotal(-1, true)
		b.p.Wait()
	})
}
