package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookrig/hookrig/internal/httpapi"
	"github.com/hookrig/hookrig/reference/sender"
	"github.com/hookrig/hookrig/reference/sender/delivery"
)

// newSenderCmd runs the reference webhook sender.
func newSenderCmd(e *env) *cobra.Command {
	var (
		listen     string
		cfg        sender.Config
		maxBody    = byteSize(sender.DefaultMaxBody)
		policy     = delivery.DefaultPolicy()
		schedule   string
		policyJSON string
		grace      time.Duration
		seed       uint64
		noDispatch bool
		quiet      bool
		apiAccess  senderAccess
		retain     = retention(sender.DefaultRetain)
	)
	cmd := &cobra.Command{
		Use:   "sender",
		Short: "Run the reference webhook sender (durable outbox, retries, signatures, dead letters)",
		Long: `Run the reference webhook sender. Events posted to its API are written to a
durable outbox (bbolt, group commit) before they are acknowledged, then
delivered to their endpoint as signed Standard Webhooks requests, each
attempt signed afresh and numbered in webhook-attempt. Failed attempts are
retried by the endpoint's policy (jittered exponential backoff or an explicit
schedule, Retry-After on 429/503, max attempts and age, a circuit breaker,
410 Gone disables the endpoint); events that run out go to the dead-letter
queue, from where they can be replayed. After a crash it resumes where it
stopped; attempts that were in flight are reported as interrupted.

With --store postgres://... the outbox is a PostgreSQL database instead,
shared by every instance started on it: claims are leased, an instance that
dies leaves its attempts to be reported interrupted and retried by the others
once their leases expire (docs/postgres.md).

An endpoint created with "scheme": "stripe" (or github, shopify, slack,
svix, convoy, convoy-simple; docs/schemes.md) is signed as that provider
signs, so the sender can play it to your receiver; the payload is sent as
given (for stripe, carry the event id at "id").

API: POST/GET /v1/endpoints, GET/DELETE /v1/endpoints/{id},
POST /v1/endpoints/{id}/enable, POST/GET /v1/events, GET /v1/events/{id},
GET /v1/dlq, POST /v1/dlq/replay, GET /v1/stats.

The first line on stdout is the address: "sender listening on http://ADDR".
The policy flags set the default policy of endpoints created without one;
--policy takes the same as JSON (or @file), over the flags.`,
		Example: `  hookrig sender --listen 127.0.0.1:0 --data ./sender-data
  hookrig sender --data ./sender-data --schedule svix --max-age 72h
  hookrig sender --store postgres://hookrig@127.0.0.1:5432/hookrig --instance a
  hookrig sender --data ./sender-data --policy '{"backoff":{"base":"500ms","factor":3,"cap":"10m"},"ordered":true}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if schedule != "" {
				s, err := parseSchedule(schedule)
				if err != nil {
					return &exitCodeError{exitError, fmt.Errorf("sender: --schedule: %w", err)}
				}
				policy.Schedule = s
				if !cmd.Flags().Changed("max-attempts") {
					policy.MaxAttempts = 0 // one attempt per entry
				}
			}
			if policyJSON != "" {
				raw := []byte(policyJSON)
				if name, ok := strings.CutPrefix(policyJSON, "@"); ok {
					b, err := os.ReadFile(name)
					if err != nil {
						return &exitCodeError{exitError, fmt.Errorf("sender: --policy: %w", err)}
					}
					raw = b
				}
				if err := json.Unmarshal(raw, &policy); err != nil {
					return &exitCodeError{exitError, fmt.Errorf("sender: --policy: %w", err)}
				}
			}
			if err := policy.Validate(); err != nil {
				return &exitCodeError{exitError, fmt.Errorf("sender: %w", err)}
			}
			if cfg.Store != "" {
				if cmd.Flags().Changed("retain") {
					return &exitCodeError{exitError, fmt.Errorf("sender: --retain applies to the bbolt outbox (--data); with --store, PostgreSQL keeps every row")}
				}
				if cmd.Flags().Changed("data") {
					return &exitCodeError{exitError, fmt.Errorf("sender: give --data (an embedded bbolt outbox) or --store (PostgreSQL), not both")}
				}
				cfg.DataDir = ""
			} else {
				cfg.Retain = time.Duration(retain)
			}
			if !cmd.Flags().Changed("seed") {
				seed = uint64(e.clock.Now().UnixNano())
			}
			level := slog.LevelInfo
			if quiet {
				level = slog.LevelWarn
			}
			log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
			cfg.DefaultPolicy = policy
			cfg.MaxBody = int64(maxBody)
			cfg.Clock = e.clock
			cfg.Seed = seed
			cfg.Logger = log
			cfg.ShutdownGrace = grace
			if apiAccess.token == "" {
				apiAccess.token = e.getenv("HOOKRIG_API_TOKEN")
			}
			cfg.APIToken = apiAccess.token
			return runSender(cmd.Context(), e, listen, cfg, grace, !noDispatch, apiAccess.allowPrivate, log)
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:8070", "address to listen on (host:port; no host means 127.0.0.1; port 0 picks one)")
	f.StringVar(&cfg.DataDir, "data", "hookrig-sender-data", "directory of the outbox (outbox.db); reuse it to resume after a stop or crash")
	f.StringVar(&cfg.Store, "store", "", "keep the outbox in PostgreSQL instead of --data (postgres://user@host:port/db); instances on one database share it (docs/postgres.md)")
	f.StringVar(&cfg.Instance, "instance", "", "with --store, this instance's name in leases and attempts (default: a fresh id)")
	f.DurationVar(&cfg.Lease, "lease", sender.DefaultLease, "with --store, how long a claimed attempt stays this instance's without renewal; past it another instance reports it interrupted and retries it")
	f.Var(&retain, "retain", "how long a delivered event (its attempts, its id) stays in the outbox before it is removed (GET /v1/events/{id} then answers 404 and the id may be accepted again); 0 or forever keeps every event. Dead letters stay until replayed")
	f.IntVar(&cfg.Workers, "workers", sender.DefaultWorkers, "attempts in flight at most, over all endpoints")
	f.Var(&maxBody, "max-body", "largest API request body, e.g. 4MiB (413 past it)")
	f.Uint64Var(&seed, "seed", 0, "seed of the retry jitter (default: from the clock)")
	f.DurationVar(&grace, "grace", 10*time.Second, "on SIGINT/SIGTERM, time left for API requests and attempts in flight")
	f.BoolVar(&noDispatch, "no-dispatch", false, "accept events but deliver nothing (maintenance, ingest benchmarks)")
	f.BoolVarP(&quiet, "quiet", "q", false, "log warnings and errors only")
	f.StringVar(&apiAccess.token, "api-token", "", "bearer token every API request must carry (or $HOOKRIG_API_TOKEN); required when --listen is beyond loopback")
	f.BoolVar(&apiAccess.allowPrivate, "allow-private", false, "with --listen beyond loopback, still let endpoints point at loopback and private addresses (10/8, 172.16/12, 192.168/16, fc00::/7)")
	f.IntVar(&cfg.MetricsEndpoints, "metrics-endpoints", 0, "add attempts by endpoint id to GET /metrics for the first N endpoints (the rest as \"other\"); 0: no per-endpoint series")
	f.DurationVar(&cfg.MaxAttemptTimeout, "max-attempt-timeout", sender.DefaultMaxAttemptTimeout, "largest attempt_timeout a client may give an endpoint")

	f.DurationVar(&policy.Backoff.Base, "backoff-base", policy.Backoff.Base, "first retry delay ceiling (full jitter: the delay is drawn from 0 to the ceiling)")
	f.Float64Var(&policy.Backoff.Factor, "backoff-factor", policy.Backoff.Factor, "ceiling growth per failed attempt")
	f.DurationVar(&policy.Backoff.Cap, "backoff-cap", policy.Backoff.Cap, "largest retry delay ceiling")
	f.StringVar(&schedule, "schedule", "", `explicit delays instead of backoff, e.g. "0s,5s,5m,30m" or "svix" (0s,5s,5m,30m,2h,5h,10h,10h)`)
	f.IntVar(&policy.MaxAttempts, "max-attempts", policy.MaxAttempts, "attempts before an event is dead-lettered (0: the schedule's length, or no limit)")
	f.DurationVar(&policy.MaxAge, "max-age", policy.MaxAge, "dead-letter an event whose next attempt would fall this long after it was accepted (0: no limit)")
	f.DurationVar(&policy.RetryAfterMax, "retry-after-max", policy.RetryAfterMax, "cap on a Retry-After honoured on 429/503 (0: ignore Retry-After)")
	f.DurationVar(&policy.AttemptTimeout, "attempt-timeout", policy.AttemptTimeout, "time limit of one attempt, connect to last byte")
	f.IntVar(&policy.Concurrency, "concurrency", policy.Concurrency, "attempts in flight per endpoint at most")
	f.IntVar(&policy.Breaker.Failures, "breaker-failures", policy.Breaker.Failures, "consecutive failures that open an endpoint's circuit (0: no breaker)")
	f.DurationVar(&policy.Breaker.Cooldown, "breaker-cooldown", policy.Breaker.Cooldown, "how long an open circuit waits before a probe")
	f.BoolVar(&policy.Ordered, "ordered", false, "deliver events sharing a key one at a time, in order (head-of-line blocking)")
	f.StringVar(&policyJSON, "policy", "", `default policy as JSON, or @file, over the flags (e.g. '{"max_attempts":5}')`)
	return cmd
}

// retention is --retain: a duration, or 0 / "forever" for no limit.
type retention time.Duration

func (r *retention) String() string {
	if *r == 0 {
		return "forever"
	}
	return time.Duration(*r).String()
}
func (r *retention) Type() string { return "retention" }

func (r *retention) Set(s string) error {
	if s == "forever" {
		*r = 0
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return fmt.Errorf("expected a duration such as 24h or 30m, 0 or forever")
	}
	*r = retention(d)
	return nil
}

// parseSchedule reads "0s,5s,5m" or "svix".
func parseSchedule(s string) ([]time.Duration, error) {
	if strings.EqualFold(strings.TrimSpace(s), "svix") {
		return delivery.SvixSchedule(), nil
	}
	var out []time.Duration
	for i, part := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("entry %d %q: want a duration such as 5s or 30m, or \"svix\"", i+1, part)
		}
		out = append(out, d)
	}
	return out, nil
}

// senderAccess is who may use the API and where endpoints may point.
type senderAccess struct {
	token        string
	allowPrivate bool
}

// runSender serves until ctx ends, then shuts down gracefully: the API
// first (requests in progress finish), then the sender (attempts in flight
// get the grace, every outcome is written, the outbox is closed).
func runSender(ctx context.Context, e *env, listen string, cfg sender.Config, grace time.Duration, dispatch, allowPrivate bool, log *slog.Logger) error {
	// Workers' dials and the API's clients share the descriptor limit:
	// raise it to the hard one and cap the API's connections below it.
	files, err := httpapi.RaiseOpenFileLimit()
	if err != nil {
		log.Warn("open-file limit", "err", err)
	}
	ln, err := httpapi.ListenCapped(listen, httpapi.ConnCapFor(files)/2)
	if err != nil {
		return &exitCodeError{exitError, fmt.Errorf("sender: %w", err)}
	}
	// Beyond loopback, anyone who can reach the port could make the
	// sender post anywhere it can reach: a token is required, and
	// endpoints on loopback and private addresses are refused unless
	// asked for.
	if httpapi.Exposed(ln.Addr()) {
		if cfg.APIToken == "" {
			ln.Close()
			return &exitCodeError{exitError, fmt.Errorf("sender: the API would listen on %s, beyond loopback, without a token: set --api-token (or $HOOKRIG_API_TOKEN), or listen on 127.0.0.1", ln.Addr())}
		}
		cfg.RefusePrivate = !allowPrivate
	}
	s, err := sender.Open(cfg)
	if err != nil {
		ln.Close()
		return &exitCodeError{exitError, fmt.Errorf("sender: %w", err)}
	}
	fmt.Fprintf(e.stdout, "sender listening on http://%s\n", ln.Addr())
	rec := s.Recovered()
	r := retention(cfg.Retain)
	where := []any{"data", cfg.DataDir, "retain", r.String()}
	if cfg.Store != "" {
		where = []any{"store", "postgres", "instance", s.Instance()}
	}
	log.Info("sender started", append(where, "seed", cfg.Seed, "dispatch", dispatch,
		"resumed", rec.Pending, "interrupted", rec.Interrupted)...)
	if dispatch {
		s.Start(ctx)
	}
	serveErr := httpapi.Serve(ctx, httpapi.NewServer(s.Handler()), ln, grace)
	closeErr := s.Close()
	st := s.Stats()
	log.Info("sender stopped", "accepted", st.Accepted, "delivered", st.Delivered, "pending", st.Pending,
		"dead_lettered", st.DeadLettered, "attempts", st.Attempts, "interrupted", st.Interrupted)
	if serveErr != nil {
		return fmt.Errorf("sender: %w", serveErr)
	}
	return closeErr
}
