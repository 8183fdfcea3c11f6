package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookrig/hookrig/internal/capture"
	"github.com/hookrig/hookrig/internal/httpapi"
	"github.com/hookrig/hookrig/reference/receiver"
	"github.com/hookrig/hookrig/reference/webhook"
)

// newReceiverCmd runs the reference webhook receiver.
func newReceiverCmd(e *env) *cobra.Command {
	var (
		listen  string
		secrets []string
		cfg     receiver.Config
		maxBody = byteSize(receiver.DefaultMaxBody)
		capMax  = byteSize(capture.DefaultMaxBytes)
		grace   time.Duration
		quiet   bool
		scheme  schemeFlags
	)
	cmd := &cobra.Command{
		Use:   "receiver",
		Short: "Run the reference webhook receiver (verify, dedupe, fast ack, journal)",
		Long: `Run the reference webhook receiver. Every POST outside /v1/ is a webhook:
its Standard Webhooks signature and timestamp are verified (401 / 400),
oversized (413) and non-JSON (400) bodies are refused, repeats of a
webhook-id inside the dedupe window are acknowledged as duplicates and not
processed again, and the 2xx goes out before processing. Every request is
journaled as one JSON line. GET /v1/receipts?since=SEQ&limit=N and
GET /v1/stats read the journal and counters live.

The journal and the dedupe store are written out every second and on
shutdown; --sync makes each acknowledgement wait until its receipt is on
disk, so that a crash right after a 2xx forgets nothing (the fsyncs are
shared by concurrent requests).

The first line on stdout is the address: "receiver listening on http://ADDR".
--capture FILE stores every webhook request whole before it is verified:
one JSON line with the method, path, headers, the body's exact bytes
(base64) and the arrival time; a body over --max-body is recorded as cut,
without its bytes. Lines are buffered and written out every second and on
shutdown (a kill -9 loses up to the last second); past --capture-max the
file rotates to FILE.1. --capture-only acknowledges every request it could
write to the file, unverified, to capture a provider's real webhooks.

Secrets come from --secret (repeat it while rotating) or, when none is
given, from $HOOKRIG_SECRET (space-separated).

--scheme verifies another provider's signatures instead (github, stripe,
shopify, slack, svix, convoy, convoy-simple; docs/schemes.md) and
deduplicates by that scheme's id, or by --id-from header:NAME|json:PATH.
A scheme that signs no timestamp (github, shopify, convoy-simple) can be
replayed for ever: only the dedupe window (timed by arrival) protects it.
Slack carries no id: its webhooks are accepted without deduplication and
counted "undeduplicated" in /v1/stats.`,
		Example: `  hookrig receiver --listen 127.0.0.1:0 --secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw --journal receipts.jsonl
  hookrig receiver --secret whsec_OLD --secret whsec_NEW --dedupe-store dedupe.log
  hookrig receiver --secret whsec_... --journal receipts.jsonl --dedupe-store dedupe.log --sync
  hookrig receiver --capture-only --capture stripe.jsonl --listen :8090     # record a provider's webhooks, then 'hookrig replay'
  hookrig receiver --scheme stripe --secret whsec_from_the_stripe_dashboard
  hookrig receiver --scheme convoy --secret whsec_... --id-from json:data.hookrig_id
  hookrig receiver --secret whsec_... --process-duration 50ms --process-failure-ratio 0.1 --process-before-ack`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(secrets) == 0 && e.getenv != nil {
				secrets = strings.Fields(e.getenv("HOOKRIG_SECRET"))
			}
			if cfg.Capture.Only && cfg.Capture.Path == "" {
				return &exitCodeError{exitError, fmt.Errorf("receiver: --capture-only needs --capture FILE (where the requests go)")}
			}
			if len(secrets) == 0 && !cfg.Capture.Only {
				return &exitCodeError{exitError, fmt.Errorf("receiver: no secret: give --secret whsec_... (or set HOOKRIG_SECRET)")}
			}
			if scheme.standard() {
				if err := checkSecrets(secrets, e.stderr); err != nil {
					return &exitCodeError{exitError, err}
				}
			}
			// The scheme is built here only to fail on a bad name or
			// --id-from with a flag-named message; the receiver builds its own.
			if _, _, err := scheme.build(secrets, cfg.Tolerance); err != nil {
				return &exitCodeError{exitError, fmt.Errorf("receiver: %w", err)}
			}
			cfg.Scheme = scheme.name
			cfg.IDFrom, _ = scheme.idSource() // build checked it
			// Zero would quietly mean "the default" to the library: say so.
			for _, f := range []struct {
				name string
				bad  bool
			}{
				{"--tolerance", cfg.Tolerance <= 0}, {"--dedupe-ttl", cfg.Dedupe.TTL <= 0}, {"--dedupe-max", cfg.Dedupe.MaxEntries <= 0},
				{"--receipt-log", cfg.ReceiptLog <= 0}, {"--process-workers", cfg.Processing.Workers <= 0},
				{"--process-queue", cfg.Processing.Queue <= 0}, {"--grace", grace <= 0}, {"--capture-keep", cfg.Capture.Keep <= 0},
			} {
				if f.bad {
					return &exitCodeError{exitError, fmt.Errorf("receiver: %s must be positive\nRun 'hookrig receiver --help' for usage.", f.name)}
				}
			}
			cfg.Secrets = secrets
			cfg.MaxBody = int64(maxBody)
			cfg.Capture.MaxBytes = int64(capMax)
			cfg.Clock = e.clock
			level := slog.LevelInfo
			if quiet {
				level = slog.LevelWarn
			}
			log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
			cfg.Logger = log
			return runReceiver(cmd.Context(), e, listen, cfg, grace, log)
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:8090", "address to listen on (host:port; no host means 127.0.0.1; port 0 picks one)")
	f.StringArrayVar(&secrets, "secret", nil, "signing secret whsec_... (repeat for rotation: any one may match)")
	scheme.register(f, true)
	f.DurationVar(&cfg.Tolerance, "tolerance", 5*time.Minute, "how far webhook-timestamp may be from now, either way")
	f.Var(&maxBody, "max-body", "largest body accepted, e.g. 1MiB, 64KiB, 2000 (413 past it)")
	f.StringVar(&cfg.JournalPath, "journal", "", "append one JSON line per request to this file (default: memory only)")
	f.IntVar(&cfg.ReceiptLog, "receipt-log", receiver.DefaultReceiptLog, "recent receipts held in memory for /v1/receipts (136 bytes each, resident from the start: 8.9 MB at the default)")
	f.DurationVar(&cfg.Dedupe.TTL, "dedupe-ttl", receiver.DefaultDedupeTTL, "how long a webhook-id is remembered (cover the sender's retry horizon)")
	f.IntVar(&cfg.Dedupe.MaxEntries, "dedupe-max", receiver.DefaultDedupeMaxEntries, "most webhook-ids remembered; the oldest are evicted past it")
	f.StringVar(&cfg.Dedupe.Path, "dedupe-store", "", "keep the dedupe window in this file across restarts (default: memory only)")
	f.StringVar(&cfg.Dedupe.DSN, "dedupe", "", "keep the dedupe window in PostgreSQL (postgres://...), shared by every receiver on that database")
	f.BoolVar(&cfg.SyncAck, "sync", false, "acknowledge only once the receipt (--journal) and the id (--dedupe-store) are fsynced; concurrent requests share each fsync")
	f.DurationVar(&cfg.Processing.Duration, "process-duration", 0, "simulated processing time per unique webhook")
	f.Float64Var(&cfg.Processing.FailureRatio, "process-failure-ratio", 0, "share of processing steps that fail (0..1, seeded)")
	f.BoolVar(&cfg.Processing.BeforeAck, "process-before-ack", false, "process before answering (the wrong way: failures answer 500, duration delays the ack)")
	f.IntVar(&cfg.Processing.Workers, "process-workers", receiver.DefaultProcessingWorkers, "concurrent processing steps after the ack")
	f.IntVar(&cfg.Processing.Queue, "process-queue", receiver.DefaultProcessingQueue, "acknowledged webhooks not yet processed, at most (503 past it)")
	f.StringVar(&cfg.Capture.Path, "capture", "", "store every webhook request whole (headers, exact body, arrival time) in this file as JSON lines, for 'hookrig replay'")
	f.Var(&capMax, "capture-max", "rotate the capture file to FILE.1 past this size, e.g. 100MiB")
	f.IntVar(&cfg.Capture.Keep, "capture-keep", 1, "rotated capture files kept (FILE.1 .. FILE.N)")
	f.BoolVar(&cfg.Capture.Only, "capture-only", false, "accept (200) and capture every request without verifying it (a secret is then optional): to record a provider's real webhooks")
	f.Uint64Var(&cfg.Seed, "seed", 1, "seed of the processing failure draws")
	f.DurationVar(&grace, "grace", 10*time.Second, "on SIGINT/SIGTERM, time left for requests and processing to finish")
	f.BoolVarP(&quiet, "quiet", "q", false, "log warnings and errors only")
	return cmd
}

// runReceiver serves until ctx ends, then shuts down gracefully: the HTTP
// server first (in-flight requests finish), then the receiver (processing
// drains, the journal is flushed and fsynced).
func runReceiver(ctx context.Context, e *env, listen string, cfg receiver.Config, grace time.Duration, log *slog.Logger) error {
	// One descriptor per connection: raise the soft limit to the hard one,
	// and cap connections below it, so that a flood of idle connections
	// meets the cap (an idle one is closed to make room) instead of
	// "accept: too many open files" for every client.
	files, err := httpapi.RaiseOpenFileLimit()
	if err != nil {
		log.Warn("open-file limit", "err", err)
	}
	ln, err := httpapi.ListenCapped(listen, httpapi.ConnCapFor(files))
	if err != nil {
		return &exitCodeError{exitError, fmt.Errorf("receiver: %w", err)}
	}
	rcv, err := receiver.New(cfg)
	if err != nil {
		ln.Close()
		return &exitCodeError{exitError, err}
	}
	fmt.Fprintf(e.stdout, "receiver listening on http://%s\n", ln.Addr())
	log.Info("limits", "open_files", files, "max_connections", httpapi.ConnCapFor(files),
		"max_header_bytes", httpapi.DefaultMaxHeaderBytes, "idle_timeout", httpapi.DefaultIdleTimeout)
	serveErr := rcv.NewServer(receiver.ServerConfig{}).Serve(ctx, ln, grace)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	closeErr := rcv.Shutdown(sctx)
	st := rcv.Stats()
	log.Info("receiver stopped", "received", st.Received, "unique", st.Unique, "duplicates", st.Duplicates,
		"rejected", st.Rejected, "evictions", st.Evictions, "last_seq", st.Journal.LastSeq)
	if c := st.Capture; c != nil {
		log.Info("capture", "path", c.Path, "captured", c.Captured, "cut", c.Cut, "rotations", c.Rotations, "errors", c.Errors)
	}
	if serveErr != nil {
		return fmt.Errorf("receiver: %w", serveErr)
	}
	return closeErr
}

// minSecretBytes is the shortest key the Standard Webhooks specification
// allows (24 to 64 bytes); a shorter one still works, with a warning.
const minSecretBytes = 24

// checkSecrets refuses what is not a whsec_ secret, in one line naming
// which --secret and what is expected (without repeating the secret), and
// warns on stderr about keys short enough to guess.
func checkSecrets(secrets []string, stderr io.Writer) error {
	for i, s := range secrets {
		n := i + 1
		if !strings.HasPrefix(strings.TrimSpace(s), webhook.SecretPrefix) {
			return fmt.Errorf("receiver: secret #%d does not start with %s: want whsec_ followed by base64 of %d to 64 random bytes", n, webhook.SecretPrefix, minSecretBytes)
		}
		if _, err := webhook.ParseSecret(s); err != nil {
			return fmt.Errorf("receiver: secret #%d: %w", n, err)
		}
		// ParseSecret accepted it, so this decodes.
		key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(strings.TrimSpace(s), webhook.SecretPrefix))
		if k := len(key); k < minSecretBytes {
			fmt.Fprintf(stderr, "receiver: warning: secret #%d has a %d-byte key: signatures made with it can be guessed; use %d to 64 random bytes\n", n, k, minSecretBytes)
		}
	}
	return nil
}

// byteSize is a flag holding a number of bytes: 1048576, 1MiB, 64KiB, 1MB.
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }
func (b *byteSize) Type() string   { return "bytes" }

func (b *byteSize) Set(s string) error {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1000}, {"MB", 1000_000}, {"GB", 1000_000_000}, {"B", 1}}
	num, mult := strings.TrimSpace(s), int64(1)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return fmt.Errorf("%q: want a positive size such as 1048576, 512KiB or 1MiB", s)
	}
	*b = byteSize(n * mult)
	return nil
}
