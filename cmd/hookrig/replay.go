package main

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookrig/hookrig/internal/capture"
	"github.com/hookrig/hookrig/loadgen"
	"github.com/hookrig/hookrig/reference/webhook"
	"github.com/hookrig/hookrig/sim/report"
)

// replayFlags are the flags of `hookrig replay`.
type replayFlags struct {
	to          string
	speed       string
	rate        string
	secrets     []string
	newIDs      bool
	idPrefix    string
	limit       int
	concurrency int
	timeout     time.Duration
	insecure    bool
	format      string
	output      string
	maxP99      time.Duration
	minSuccess  float64
	scheme      schemeFlags
}

func newReplayCmd(e *env) *cobra.Command {
	var f replayFlags
	cmd := &cobra.Command{
		Use:   "replay FILE... --to URL",
		Short: "Re-send captured webhooks (receiver --capture) with their original spacing",
		Long: `replay re-sends the requests a receiver captured (hookrig receiver --capture
FILE) to URL, in order and with their original spacing: --speed 10x sends
ten times faster, --rate R evenly at R per second instead. Give rotated
files oldest first (FILE.1 FILE).

Without --secret each request goes out exactly as captured: method, path,
headers and body bytes (so old signatures and timestamps too: a receiver
checking timestamps refuses them once its tolerance has passed). With
--secret each is re-signed per Standard Webhooks with a fresh timestamp and
its captured webhook-id, or a new one with --new-ids; with --scheme NAME as
that provider signs (docs/schemes.md), keeping the id read from the scheme's
own place in the captured request (or from --id-from header:NAME|json:PATH).
A URL without a path keeps each request's captured path.

The report is bench's (status codes, latency from each request's intended
send time, histogram) and names why requests were refused (the target's
error message by status). The exit status is 1 when fewer than
--min-success of the answers were 2xx (default: all of them).`,
		Example: `  hookrig replay stripe.jsonl --to http://127.0.0.1:8090                       # as captured, same spacing
  hookrig replay cap.jsonl.1 cap.jsonl --to http://127.0.0.1:8090/hooks --speed 10x --secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
  hookrig replay cap.jsonl --to http://127.0.0.1:8090 --rate 500 --secret whsec_... --new-ids --report json --out replay.json
  hookrig replay cap.jsonl --to http://127.0.0.1:8090/webhooks --scheme stripe --secret whsec_from_the_dashboard`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return errors.New("replay: give the capture FILE(s) to send (written by 'hookrig receiver --capture FILE')")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReplay(cmd, e, args, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.to, "to", "", "where to send: http(s)://HOST[:PORT] keeps each captured path; a URL with a path sends all there (required)")
	fl.StringVar(&f.speed, "speed", "1x", "divide the captured spacing, e.g. 10x (ten times faster) or 0.5x")
	fl.StringVar(&f.rate, "rate", "0", "send evenly at this many per second instead of the captured spacing (0: captured spacing)")
	fl.StringArrayVar(&f.secrets, "secret", nil, "re-sign with this secret (whsec_... for Standard Webhooks; the provider's for --scheme), fresh timestamps (repeat to sign with several)")
	f.scheme.register(fl, true)
	fl.BoolVar(&f.newIDs, "new-ids", false, "with --secret: give each request a new id (--id-prefix and its number) instead of the captured one")
	fl.StringVar(&f.idPrefix, "id-prefix", "", "prefix of --new-ids (default: replay_ and a random run id)")
	fl.IntVar(&f.limit, "limit", 0, "send only the first N captured requests (0: all)")
	fl.IntVar(&f.concurrency, "concurrency", 64, "most requests in flight; a request due while all are busy waits (and its wait counts in its latency)")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Second, "per request, connecting included")
	fl.BoolVar(&f.insecure, "insecure", false, "do not verify TLS certificates")
	fl.StringVarP(&f.format, "report", "r", string(report.Text), "report format: text, json (bench's result), junit or html")
	fl.StringVarP(&f.output, "out", "o", "", "write the report to `FILE` instead of stdout")
	fl.DurationVar(&f.maxP99, "max-p99", 0, "exit 1 if the corrected p99 latency is above this")
	fl.Float64Var(&f.minSuccess, "min-success", 1, "exit 1 if the share of 2xx answers is below this (0: never)")
	return cmd
}

func runReplay(cmd *cobra.Command, e *env, files []string, f *replayFlags) error {
	format, err := report.ParseFormat(f.format)
	if err != nil {
		return fmt.Errorf("--report: %w", err)
	}
	cfg, err := replayConfig(e, files, f)
	if err != nil {
		return err
	}
	if err := checkWritable("out", f.output); err != nil {
		return err
	}
	res, err := loadgen.Replay(cmd.Context(), cfg)
	if err != nil {
		return err
	}
	checks := benchChecks(res.Result, f.maxP99, f.minSuccess)
	var buf bytes.Buffer
	if err := renderBench(&buf, res.Result, checks, nil, format); err != nil {
		return err
	}
	if format == report.Text {
		if err := loadgen.WriteCauses(&buf, res); err != nil {
			return err
		}
	}
	if err := writeOutput(e, buf.Bytes(), f.output); err != nil {
		return fmt.Errorf("--out %s: %v", f.output, pathErr(err))
	}
	var failed []string
	for _, c := range checks {
		if !c.Passed {
			failed = append(failed, c.Message)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	// The causes go with the verdict: in a JSON or JUnit report they are
	// not written, and "400 ×100" alone does not say what to fix.
	for i, c := range res.Causes {
		if i == 3 {
			failed = append(failed, fmt.Sprintf("and %d more causes (see the text report)", len(res.Causes)-3))
			break
		}
		failed = append(failed, fmt.Sprintf("%d ×%d: %s", c.Status, c.Count, c.Reason))
	}
	msg := strings.Join(failed, "; ")
	fmt.Fprintf(e.stderr, "replay: FAILED: %s\n", msg)
	return &exitCodeError{code: exitAssertion, err: errors.New(msg)}
}

// replayConfig turns the flags into a replay, rejecting every mistake
// before anything is sent.
func replayConfig(e *env, files []string, f *replayFlags) (loadgen.ReplayConfig, error) {
	cfg := loadgen.ReplayConfig{
		To: f.to, NewIDs: f.newIDs, IDPrefix: f.idPrefix, Concurrency: f.concurrency,
		Timeout: f.timeout, Insecure: f.insecure, Clock: e.clock,
	}
	switch {
	case f.to == "":
		return cfg, errors.New("replay: --to URL is required: where to send the captured requests, e.g. --to http://127.0.0.1:8090")
	case !strings.HasPrefix(f.to, "http://") && !strings.HasPrefix(f.to, "https://"):
		return cfg, fmt.Errorf("--to %q: want an http:// or https:// URL", f.to)
	case f.concurrency <= 0:
		return cfg, fmt.Errorf("--concurrency %d: want a positive number", f.concurrency)
	case f.timeout <= 0:
		return cfg, fmt.Errorf("--timeout %v: want a positive duration such as 5s", f.timeout)
	case f.limit < 0:
		return cfg, fmt.Errorf("--limit %d: want 0 (all) or a positive number", f.limit)
	case f.minSuccess < 0 || f.minSuccess > 1:
		return cfg, fmt.Errorf("--min-success %v: want a share between 0 and 1", f.minSuccess)
	case f.newIDs && len(f.secrets) == 0:
		return cfg, errors.New("--new-ids needs --secret: a new webhook-id breaks the captured signature, so the request must be re-signed")
	case len(f.secrets) == 0 && (!f.scheme.isDefault() || f.scheme.idFrom != ""):
		return cfg, errors.New("--scheme and --id-from re-sign: give --secret (the receiver's signing secret) too")
	}
	speed, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(f.speed), "x"), 64)
	if err != nil || !(speed > 0) || speed > 1e6 {
		return cfg, fmt.Errorf("--speed %q: want a positive factor such as 10x or 0.5x", f.speed)
	}
	cfg.Speed = speed
	if cfg.Rate, err = loadgen.ParseRate(f.rate); err != nil {
		return cfg, fmt.Errorf("--rate: %v", err)
	}
	switch {
	case len(f.secrets) > 0 && f.scheme.isDefault():
		if err := checkSecrets(f.secrets, e.stderr); err != nil {
			return cfg, err
		}
		// Standard Webhooks signs without allocating through a Signer.
		if cfg.Signer, err = webhook.NewSigner(f.secrets...); err != nil {
			return cfg, fmt.Errorf("--secret: %v", err)
		}
		if cfg.IDFrom, err = f.scheme.idSource(); err != nil {
			return cfg, err
		}
	case len(f.secrets) > 0:
		if f.scheme.standard() {
			if err := checkSecrets(f.secrets, e.stderr); err != nil {
				return cfg, err
			}
		}
		if cfg.Scheme, cfg.IDFrom, err = f.scheme.build(f.secrets, 0); err != nil {
			return cfg, err
		}
	}
	if f.newIDs && f.idPrefix == "" {
		cfg.IDPrefix = "replay_" + runID() + "_"
	}
	for _, file := range files {
		reqs, err := capture.Load(file)
		if err != nil {
			return cfg, err
		}
		cfg.Requests = append(cfg.Requests, reqs...)
	}
	if f.limit > 0 && f.limit < len(cfg.Requests) {
		cfg.Requests = cfg.Requests[:f.limit]
	}
	return cfg, nil
}
