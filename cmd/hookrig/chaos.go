package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookrig/hookrig/chaos"
	"github.com/hookrig/hookrig/chaos/fault"
	"github.com/hookrig/hookrig/internal/httpapi"
	"github.com/hookrig/hookrig/internal/schedslice"
	"github.com/hookrig/hookrig/reference/webhook"
)

type chaosOptions struct {
	listen, upstream, control, rules, token string
	seed                                    uint64
	attemptLog, maxConns                    int
	maxBody                                 byteSize
	upstreamTimeout, schedSlice             time.Duration
	verbose                                 bool
	scheme                                  schemeFlags
}

func newChaosCmd(e *env) *cobra.Command {
	var o chaosOptions
	cmd := &cobra.Command{
		Use:   "chaos --upstream URL [--rules FILE]",
		Short: "HTTP chaos proxy: fault webhook deliveries by rule, seeded, on a timeline",
		Long: `chaos is a reverse proxy to one upstream that breaks requests on purpose:
latency (fixed or drawn), made-up statuses (503, 429 with Retry-After),
TCP resets, blackholes, slow and truncated bodies, lost acknowledgements,
duplicate deliveries, reordering, and down windows (connection refused).

Rules (YAML or JSON, a "rules:" list) say which requests to break, how
often and when; the first rule that matches and fires wins. Steer it while
it runs through the control API (GET/PUT/POST /v1/rules, DELETE
/v1/rules/{name}, POST /v1/reset, GET /v1/stats, GET /v1/attempts).`,
		Example: `  hookrig chaos --upstream http://127.0.0.1:9000 --rules rules.yaml --seed 7
  curl -s 127.0.0.1:8474/v1/stats`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("seed") {
				// Seeded from the clock only when not asked for; printed so
				// the run can be repeated.
				o.seed = uint64(e.clock.Now().UnixNano())
			}
			if o.token == "" {
				o.token = e.getenv("HOOKRIG_CONTROL_TOKEN")
			}
			return runChaos(cmd.Context(), e, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:8081", "address the proxy listens on (loopback unless a host is given)")
	f.StringVar(&o.upstream, "upstream", "", "where requests go, e.g. http://127.0.0.1:9000 (required)")
	f.StringVar(&o.control, "control", "127.0.0.1:8474", "address of the control API")
	o.scheme.register(f, true)
	f.StringVar(&o.rules, "rules", "", "rule file to start with (YAML or JSON, a rules: list)")
	f.Uint64Var(&o.seed, "seed", 0, "seed for every fault draw (default: from the clock, printed)")
	f.StringVar(&o.token, "control-token", "", "bearer token the control API requires (or $HOOKRIG_CONTROL_TOKEN)")
	f.IntVar(&o.attemptLog, "attempt-log", 10000, "attempt records kept for GET /v1/attempts")
	o.maxBody = 4 << 20
	f.Var(&o.maxBody, "max-body", "largest request body accepted, e.g. 4MiB, 64KiB, 2000 (a bare number is bytes)")
	f.IntVar(&o.maxConns, "max-conns", 0, "client connections open at once; past it the longest-idle one is closed, or the newcomer gets 503 (0: from the descriptor limit, raised to its hard maximum at start)")
	f.DurationVar(&o.upstreamTimeout, "upstream-timeout", 60*time.Second, "bound on each upstream round trip")
	f.DurationVar(&o.schedSlice, "sched-slice", 100*time.Microsecond, "time slice the proxy's threads ask the Linux scheduler for (6.12 and later): a short one runs them sooner when a request arrives, at the same CPU share (0: the kernel's default)")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "log match failures and connection errors to stderr")
	cmd.MarkFlagRequired("upstream")
	return cmd
}

func runChaos(ctx context.Context, e *env, o chaosOptions) error {
	if err := schedslice.Check(o.schedSlice); err != nil {
		return fmt.Errorf("--sched-slice: %w", err)
	}
	var rules *fault.Rules
	if o.rules != "" {
		data, err := os.ReadFile(o.rules)
		if err != nil {
			return fmt.Errorf("rules: %w", err)
		}
		specs, err := fault.ParseRules(data, o.rules)
		if err != nil {
			return err
		}
		if rules, err = fault.Compile(specs); err != nil {
			return err
		}
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	if o.maxConns == 0 {
		// The data path holds two descriptors per client (its connection
		// and an upstream one).
		files, err := httpapi.RaiseOpenFileLimit()
		if err != nil {
			fmt.Fprintf(e.stderr, "warning: %v\n", err)
		}
		o.maxConns = httpapi.ConnCapFor(files) / 2
	}
	// Rules see event_id and attempt from where the scheme, or --id-from,
	// says the id is; the proxy verifies nothing, so any secret builds it.
	var idFrom webhook.IDSource
	if !o.scheme.isDefault() || o.scheme.idFrom != "" {
		var err error
		if _, idFrom, err = o.scheme.build([]string{"unused"}, 0); err != nil {
			return err
		}
	}
	p, err := chaos.New(chaos.Config{
		IDFrom:   idFrom,
		Upstream: o.upstream, Rules: rules, Seed: o.seed, Clock: e.clock,
		Logger:     slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level})),
		AttemptLog: o.attemptLog, ControlToken: o.token, MaxBody: int(o.maxBody),
		UpstreamTimeout: o.upstreamTimeout, MaxConns: o.maxConns,
	})
	if err != nil {
		return err
	}
	// Once everything given is known good (the proxy built from it): a
	// run refused for its rules or flags leaves the process's threads as
	// they were. Threads started later inherit the slice.
	if err := schedslice.Set(o.schedSlice); err != nil {
		fmt.Fprintf(e.stderr, "warning: %v; that thread and those not set yet keep the kernel's default slice\n", err)
	}
	ln, err := httpapi.ListenCapped(o.control, controlConnCap)
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	if err := p.Start(o.listen); err != nil {
		ln.Close()
		return err
	}
	if o.token == "" && httpapi.Exposed(ln.Addr()) {
		fmt.Fprintf(e.stderr, "warning: the control API listens on %s, beyond loopback, without a token: anyone who reaches it can change the faults; set --control-token (or $HOOKRIG_CONTROL_TOKEN)\n", ln.Addr())
	}
	defer p.Close()
	fmt.Fprintf(e.stdout, "chaos listening on %s\n", p.URL())
	fmt.Fprintf(e.stdout, "upstream %s · control http://%s · seed %d · %d rules\n", o.upstream, ln.Addr(), o.seed, rules.Len())
	err = httpapi.Serve(ctx, httpapi.NewServer(p.ControlHandler()), ln, 5*time.Second)
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("control: %w", err)
	}
	return nil
}

// controlConnCap bounds the control API's connections: a few operators
// and scripts, never a crowd.
const controlConnCap = 64
