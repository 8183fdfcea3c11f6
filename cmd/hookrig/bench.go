package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookrig/hookrig/loadgen"
	"github.com/hookrig/hookrig/reference/webhook"
	"github.com/hookrig/hookrig/sim/report"
)

// benchFlags are the flags of `hookrig bench`.
type benchFlags struct {
	rate        string
	pacer       string
	duration    time.Duration
	requests    uint64
	concurrency int
	precision   time.Duration
	timeout     time.Duration
	method      string
	headers     []string
	body        string
	template    string
	fromCapture string
	size        string
	secrets     []string
	scheme      schemeFlags
	duplicates  float64
	keys        int
	eventType   string
	idPrefix    string
	ingest      string
	shard       string
	seed        uint64
	format      string
	output      string
	hgrm        string
	noPreflight bool
	insecure    bool
	quiet       bool
	every       time.Duration
	maxP99      time.Duration
	minSuccess  float64
	metrics     string
}

func newBenchCmd(e *env) *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench URL",
		Short: "Load-test a webhook endpoint: paced, signed, with honest latency",
		Long: `bench sends webhook-shaped requests to URL and reports throughput, status
codes, errors and latency percentiles.

With --rate or --pacer it runs an open loop: every request has an intended
send time, and latency is measured from it ("corrected"), so a stalled
endpoint cannot hide behind requests that were never sent; the report also
gives latency from the actual send ("uncorrected") and the scheduler lag
between the two. Without them it runs a closed loop: --concurrency workers
send as fast as the endpoint answers.

Each request carries a unique webhook-id and webhook-timestamp; with
--secret it is signed per Standard Webhooks, or with --scheme as GitHub,
Stripe, Shopify, Slack, Svix or Convoy sign (docs/schemes.md). --duplicates re-sends a share
of events with the same id, to exercise a receiver's idempotency.

` + loadgen.PacerSyntax + `

` + loadgen.TemplateHelp,
		Example: `  hookrig bench http://127.0.0.1:8080/hook --rate 2000 --duration 30s
  hookrig bench http://127.0.0.1:8080/hook --pacer linear:100..5000 --duration 1m --secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
  hookrig bench http://127.0.0.1:8080/hook --requests 2000 --scheme stripe --secret whsec_from_the_dashboard
  hookrig bench http://127.0.0.1:8080/hook --concurrency 64 --duration 10s       # closed loop, maximum throughput
  hookrig bench http://127.0.0.1:8080/hook --rate 5000 --shard 0/4 --report json --out shard0.json
  hookrig bench merge shard0.json shard1.json shard2.json shard3.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBench(cmd, e, args[0], &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.rate, "rate", "0", "requests per second, e.g. 2000 or 50/100ms (open loop, constant); 0: closed loop")
	fl.StringVar(&f.pacer, "pacer", "", "load model (see above), e.g. linear:100..5000, poisson:1000, steps:100,500@10s")
	fl.DurationVar(&f.duration, "duration", 10*time.Second, "how long to send (unless given, a pacer with an end of its own, such as steps, sets it)")
	fl.Uint64Var(&f.requests, "requests", 0, "stop after this many requests (0: no limit)")
	fl.IntVar(&f.concurrency, "concurrency", 0, "closed loop: workers (default 64); open loop: most requests in flight (default 512)")
	fl.DurationVar(&f.precision, "precision", 0, "open loop: wake on a grid of this step and send what is due at once, e.g. 1ms: fewer wake-ups (CPU), each request up to the step late plus the scheduler's own lag; 0: each at its own time, but at most one wake-up per 200µs (requests closer than that leave together, up to 200µs late: 4 per wake-up at 20,000/s)")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Second, "per request, connecting included")
	fl.StringVar(&f.method, "method", "POST", "HTTP method")
	fl.StringArrayVarP(&f.headers, "header", "H", nil, `extra header "Name: value" (repeatable)`)
	fl.StringVar(&f.body, "body", "", "send this file as every body")
	fl.StringVar(&f.template, "template", "", "render each body from this Go text/template (see above)")
	fl.StringVar(&f.fromCapture, "payload-from-capture", "", "send the bodies of this capture (hookrig receiver --capture FILE) in turn, exactly as captured")
	fl.StringVar(&f.size, "size", "0", "pad template bodies to this size where they say {{pad}}, e.g. 1KB (1 KB = 1024 bytes)")
	fl.StringArrayVar(&f.secrets, "secret", nil, "sign with this Standard Webhooks secret, whsec_... (repeat to sign with several, as while rotating)")
	f.scheme.register(fl, false)
	fl.Float64Var(&f.duplicates, "duplicates", 0, "share of requests that re-send the previous event with the same webhook-id, e.g. 0.05")
	fl.IntVar(&f.keys, "keys", 16, "number of ordering keys events cycle through (0: none)")
	fl.StringVar(&f.eventType, "type", "bench.test", "event type")
	fl.StringVar(&f.idPrefix, "id-prefix", "", "webhook-id prefix (default: evt_ and a random run id)")
	fl.StringVar(&f.ingest, "ingest", "", "ingest mode: URL is hookrig's reference sender; post events to its /v1/events for this endpoint id")
	fl.StringVar(&f.shard, "shard", "", "run shard i of n (i from 0), e.g. 0/4: 1/n of the rate; merge the results with 'bench merge'")
	fl.Uint64Var(&f.seed, "seed", 1, "seed for random payload fields, duplicates and the poisson pacer")
	fl.StringVarP(&f.format, "report", "r", string(report.Text), "report format: text, json (the result bench merge reads), junit (one testcase per threshold) or html")
	fl.StringVarP(&f.output, "out", "o", "", "write the report to `FILE` instead of stdout")
	alias(fl, e.stderr, "output", "", "out")
	fl.StringVar(&f.hgrm, "hgrm", "", "write the corrected latency distribution (.hgrm, for HdrHistogram's plotter) to this file")
	fl.BoolVar(&f.insecure, "insecure", false, "do not verify TLS certificates")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress")
	fl.BoolVar(&f.noPreflight, "no-preflight", false, "do not probe URL with one request before the load")
	fl.DurationVar(&f.every, "progress-every", 5*time.Second, "how often to print a progress line when stdout is not a terminal")
	fl.DurationVar(&f.maxP99, "max-p99", 0, "exit 1 if the corrected p99 latency is above this")
	fl.Float64Var(&f.minSuccess, "min-success", 0, "exit 1 if the share of 2xx answers is below this, e.g. 0.999")
	fl.StringVar(&f.metrics, "metrics", "", metricsFlagUsage)
	cmd.AddCommand(newBenchMergeCmd(e))
	return cmd
}

func runBench(cmd *cobra.Command, e *env, url string, f *benchFlags) error {
	format, err := benchFormat(cmd, f.format)
	if err != nil {
		return err
	}
	cfg, err := benchConfig(cmd, e, url, f)
	if err != nil {
		return err
	}
	attach := func(*loadgen.Runner) {}
	if f.metrics != "" {
		a, stop, err := benchMetrics(e.stderr, f.metrics, &cfg)
		if err != nil {
			return err
		}
		defer stop()
		attach = a
	}
	runner, err := loadgen.New(cfg)
	if err != nil {
		return err
	}
	attach(runner)
	// The output paths are checked now: a path that cannot be written is
	// a mistake to report before the run, not after it.
	if err := checkWritable("out", f.output); err != nil {
		return err
	}
	out, err := createOutputs("", f.hgrm)
	if err != nil {
		return err
	}
	defer out.close()
	if f.ingest == "" && !f.noPreflight {
		// One probe before any load: an endpoint that is down or keyed
		// with another secret fails in seconds, not after --duration.
		if err := preflight(cmd.Context(), e, url, cfg.Signer, cfg.Scheme, cfg.Target.Header, f.insecure, f.quiet); err != nil {
			return err
		}
	}

	var stop func()
	if !f.quiet {
		if e.stdoutTTY && f.output == "" && format == report.Text {
			total := cfg.Duration
			if total == 0 && cfg.Pacer != nil {
				total, _ = loadgen.Length(cfg.Pacer)
			}
			stop = loadgen.Watch(e.clock, 250*time.Millisecond, runner, newBarProgress(e.stdout, total, cfg.Requests))
		} else {
			stop = loadgen.Watch(e.clock, f.every, runner, loadgen.NewLineProgress(e.stderr))
		}
	}
	var rates *rateRecorder
	stopRates := func() {}
	if format == report.HTML {
		total := cfg.Duration
		if total == 0 && cfg.Pacer != nil {
			total, _ = loadgen.Length(cfg.Pacer)
		}
		rates = &rateRecorder{}
		stopRates = loadgen.Watch(e.clock, rateEvery(total), runner, rates)
	}
	res, err := runner.Run(cmd.Context())
	stopRates()
	if stop != nil {
		stop()
	}
	if err != nil {
		return err
	}
	checks := benchChecks(res, f.maxP99, f.minSuccess)
	if err := emitBench(cmd, e, res, checks, rates.series(), format, f.output); err != nil {
		return err
	}
	if err := out.write(res); err != nil {
		return err
	}
	var failed []string
	for _, c := range checks {
		if !c.Passed {
			failed = append(failed, c.Message)
		}
	}
	if len(failed) > 0 {
		// An assertion's exit status carries no message of its own.
		fmt.Fprintf(e.stderr, "bench: FAILED: %s\n", strings.Join(failed, "; "))
		return &exitCodeError{code: exitAssertion, err: errors.New(strings.Join(failed, "; "))}
	}
	return nil
}

// benchConfig turns the flags into a run configuration, rejecting every
// mistake before anything is sent.
func benchConfig(cmd *cobra.Command, e *env, url string, f *benchFlags) (loadgen.Config, error) {
	cfg := loadgen.Config{
		Requests: f.requests, Concurrency: f.concurrency, Timeout: f.timeout, Precision: f.precision,
		Duplicates: f.duplicates, Seed: f.seed, Keys: f.keys, EventType: f.eventType,
		Clock:  e.clock,
		Target: loadgen.Target{URL: url, Method: f.method, Ingest: f.ingest, Insecure: f.insecure},
	}
	if f.duration <= 0 {
		return cfg, fmt.Errorf("--duration %v: want a positive duration such as 30s", f.duration)
	}
	if f.timeout <= 0 {
		return cfg, fmt.Errorf("--timeout %v: want a positive duration such as 5s", f.timeout)
	}
	if f.concurrency < 0 {
		return cfg, fmt.Errorf("--concurrency %d is negative", f.concurrency)
	}
	if f.precision < 0 {
		return cfg, fmt.Errorf("--precision %v is negative: want 0 (each request at its own time) or a step such as 1ms", f.precision)
	}
	if f.every <= 0 {
		return cfg, fmt.Errorf("--progress-every %v: want a positive duration", f.every)
	}
	if f.minSuccess < 0 || f.minSuccess > 1 {
		return cfg, fmt.Errorf("--min-success %v: want a share between 0 and 1", f.minSuccess)
	}
	durationSet := cmd.Flags().Changed("duration")
	cfg.Duration = f.duration
	if !durationSet && f.requests > 0 {
		cfg.Duration = 0 // until the requests are sent
	}

	rate, err := loadgen.ParseRate(f.rate)
	if err != nil {
		return cfg, fmt.Errorf("--rate: %v", err)
	}
	rnd := mrand.New(mrand.NewPCG(f.seed, 0x6c6f616467656e)) // "loadgen"
	switch {
	case f.pacer != "" && rate > 0:
		return cfg, errors.New("give --rate or --pacer, not both (--pacer constant:2000 is --rate 2000)")
	case f.pacer != "":
		p, err := loadgen.ParsePacer(f.pacer, f.duration, rnd)
		if err != nil {
			return cfg, fmt.Errorf("--pacer: %w", err)
		}
		cfg.Pacer = p
		if _, ends := loadgen.Length(p); ends && !durationSet {
			cfg.Duration = 0 // the pacer's own length
		}
	case rate > 0:
		cfg.Pacer = loadgen.Constant(rate)
	}

	if f.shard != "" {
		i, n, err := parseShard(f.shard)
		if err != nil {
			return cfg, err
		}
		cfg.Shard, cfg.Shards = i, n
	}

	for _, h := range f.headers {
		hdr, err := loadgen.ParseHeader(h)
		if err != nil {
			return cfg, fmt.Errorf("--header: %v", err)
		}
		cfg.Target.Header = append(cfg.Target.Header, hdr)
	}
	isStandard := f.scheme.isDefault()
	switch {
	case len(f.secrets) > 0 && isStandard:
		// Standard Webhooks signs without allocating through a Signer.
		s, err := webhook.NewSigner(f.secrets...)
		if err != nil {
			return cfg, fmt.Errorf("--secret: %v", err)
		}
		cfg.Signer = s
	case len(f.secrets) > 0:
		s, _, err := f.scheme.build(f.secrets, 0)
		if err != nil {
			return cfg, err
		}
		cfg.Scheme = s
	case !isStandard:
		if _, _, err := f.scheme.build([]string{"unused"}, 0); err != nil {
			return cfg, err
		}
		return cfg, fmt.Errorf("--scheme %s needs --secret (the endpoint's signing secret)", f.scheme.name)
	}

	size, err := parseSize(f.size)
	if err != nil {
		return cfg, fmt.Errorf("--size: %v", err)
	}
	switch {
	case f.body != "" && f.template != "":
		return cfg, errors.New("give --body or --template, not both")
	case f.fromCapture != "" && (f.body != "" || f.template != ""):
		return cfg, errors.New("give --payload-from-capture or --body/--template, not both")
	case f.fromCapture != "":
		if size > 0 {
			return cfg, errors.New("--size pads template bodies; captured bodies are sent as they are")
		}
		if cfg.Payload, err = loadgen.LoadCapturePayload(f.fromCapture); err != nil {
			return cfg, fmt.Errorf("--payload-from-capture: %v", err)
		}
	case f.body != "":
		if size > 0 {
			return cfg, errors.New("--size pads template bodies; a --body file is sent as it is")
		}
		b, err := os.ReadFile(f.body)
		if err != nil {
			return cfg, fmt.Errorf("--body: %v", err)
		}
		cfg.Payload = loadgen.StaticPayload(b)
	case f.template != "":
		b, err := os.ReadFile(f.template)
		if err != nil {
			return cfg, fmt.Errorf("--template: %v", err)
		}
		p, err := loadgen.NewTemplatePayload(f.template, string(b), size)
		if err != nil {
			return cfg, fmt.Errorf("--template: %v", err)
		}
		cfg.Payload = p
	default:
		cfg.Payload = loadgen.DefaultPayload(size)
	}

	cfg.IDPrefix = f.idPrefix
	if cfg.IDPrefix == "" {
		cfg.IDPrefix = "evt_" + runID() + "_"
	}
	return cfg, nil
}

// parseShard reads "i/n" with 0 <= i < n.
func parseShard(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, fmt.Errorf("--shard %q: want i/n with i from 0 to n-1, e.g. 0/4 (a Kubernetes Indexed Job passes $(JOB_COMPLETION_INDEX)/4)", s)
	}
	return i, n, nil
}

// parseSize reads a byte count: 1024, 1k, 1KB, 1KiB (all 1024), 2MB.
func parseSize(s string) (int, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := 1
	for _, u := range []struct {
		suffix string
		m      int
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"K", 1 << 10}, {"M", 1 << 20}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.m
			break
		}
	}
	n, err := strconv.Atoi(t)
	if err != nil || n < 0 || n > (64<<20)/mult {
		return 0, fmt.Errorf("%q: want a size such as 1024, 1KB or 2MB (at most 64MB)", s)
	}
	return n * mult, nil
}

// runID names a run, so that its webhook-ids are not those of the last
// run (a receiver that deduplicates would take them for duplicates).
func runID() string {
	var b [5]byte
	rand.Read(b[:])
	const digits = "0123456789abcdefghijklmnopqrstuv"
	out := make([]byte, 8)
	v := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 | uint64(b[4])<<32
	for i := range out {
		out[i] = digits[v&31]
		v >>= 5
	}
	return string(out)
}

// benchFormat reads --report. The deprecated --output wrote the JSON
// result to its file and the text to stdout: it still does, for one
// release, when --report is not given.
func benchFormat(cmd *cobra.Command, text string) (report.Format, error) {
	if cmd.Flags().Changed("output") && !cmd.Flags().Changed("report") {
		return report.JSON, nil
	}
	f, err := report.ParseFormat(text)
	if err != nil {
		return "", fmt.Errorf("--report: %w", err)
	}
	return f, nil
}

// emitBench writes the report in format to out (stdout when ""), and
// the text to stdout as well under the deprecated --output.
func emitBench(cmd *cobra.Command, e *env, res *loadgen.Result, checks []benchCheck, rates []ratePoint, format report.Format, out string) error {
	var buf bytes.Buffer
	if err := renderBench(&buf, res, checks, rates, format); err != nil {
		return err
	}
	if cmd.Flags().Changed("output") && !cmd.Flags().Changed("report") {
		if err := renderBench(e.stdout, res, nil, nil, report.Text); err != nil {
			return err
		}
	}
	if err := writeOutput(e, buf.Bytes(), out); err != nil {
		return fmt.Errorf("--out %s: %v", out, pathErr(err))
	}
	return nil
}

// benchOutputs are the result files, opened before the run.
type benchOutputs struct {
	json, hgrm *os.File
}

func createOutputs(jsonPath, hgrmPath string) (*benchOutputs, error) {
	o := &benchOutputs{}
	var err error
	if jsonPath != "" {
		if o.json, err = os.Create(jsonPath); err != nil {
			return nil, fmt.Errorf("--output: %v", err)
		}
	}
	if hgrmPath != "" {
		if o.hgrm, err = os.Create(hgrmPath); err != nil {
			o.close()
			return nil, fmt.Errorf("--hgrm: %v", err)
		}
	}
	return o, nil
}

func (o *benchOutputs) write(res *loadgen.Result) error {
	if o.json != nil {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		if _, err := o.json.Write(append(b, '\n')); err != nil {
			return fmt.Errorf("--output: %v", err)
		}
		if err := o.json.Close(); err != nil {
			return fmt.Errorf("--output: %v", err)
		}
		o.json = nil
	}
	if o.hgrm != nil {
		if err := loadgen.WriteHgrm(o.hgrm, res.Corrected); err != nil {
			return fmt.Errorf("--hgrm: %v", err)
		}
		if err := o.hgrm.Close(); err != nil {
			return fmt.Errorf("--hgrm: %v", err)
		}
		o.hgrm = nil
	}
	return nil
}

func (o *benchOutputs) close() {
	for _, f := range []*os.File{o.json, o.hgrm} {
		if f != nil {
			f.Close()
		}
	}
}

func newBenchMergeCmd(e *env) *cobra.Command {
	var format, output, hgrm string
	cmd := &cobra.Command{
		Use:   "merge RESULT.json...",
		Short: "Merge the JSON results of shards (or runs side by side) into one report",
		Long: `merge adds up the results of several 'hookrig bench --report json' runs
that ran at the same time — typically the shards of one run on several
machines (--shard i/n) — and merges their HDR histograms exactly, so the
percentiles are those of all requests together.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := benchFormat(cmd, format)
			if err != nil {
				return err
			}
			if err := checkWritable("out", output); err != nil {
				return err
			}
			var results []*loadgen.Result
			for _, path := range args {
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				var r loadgen.Result
				if err := json.Unmarshal(b, &r); err != nil {
					return fmt.Errorf("%s: %v", path, err)
				}
				results = append(results, &r)
			}
			out, err := createOutputs("", hgrm)
			if err != nil {
				return err
			}
			defer out.close()
			merged, mergeErr := loadgen.Merge(results...)
			var missing *loadgen.MissingShardsError
			if mergeErr != nil && !errors.As(mergeErr, &missing) {
				return mergeErr
			}
			if err := emitBench(cmd, e, merged, nil, nil, f, output); err != nil {
				return err
			}
			if err := out.write(merged); err != nil {
				return err
			}
			return mergeErr
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&format, "report", "r", string(report.Text), "report format: text, json, junit or html")
	fl.StringVarP(&output, "out", "o", "", "write the merged report to `FILE` instead of stdout")
	alias(fl, e.stderr, "output", "", "out")
	fl.StringVar(&hgrm, "hgrm", "", "write the merged corrected latency distribution (.hgrm) to this file")
	return cmd
}
