package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookrig/hookrig/loadgen"
	"github.com/hookrig/hookrig/reference/conform"
	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim/report"
	"github.com/hookrig/hookrig/sim/verdict"
)

// newConformCmd grades a user's receiver (and later sender) against
// Standard Webhooks, rule by rule.
func newConformCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "conform",
		Short: "Grade your webhook receiver or sender against Standard Webhooks, rule by rule",
		Long: `conform checks a webhook implementation against the Standard Webhooks
specification: every check has a stable id, a level (MUST or SHOULD), the
spec section it comes from, PASS/FAIL/WARN/SKIP and one line of evidence.
Exit status: 0 every MUST check passed, 1 one failed, 2 a usage error or a
failed preflight.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newConformReceiverCmd(e), newConformSenderCmd(e))
	return cmd
}

type conformReceiverOptions struct {
	secret, receipts, format, out string
	only, skip, headers           []string
	rate                          float64
	duration, timeout             time.Duration
	scheme                        schemeFlags
}

func newConformReceiverCmd(e *env) *cobra.Command {
	var o conformReceiverOptions
	cmd := &cobra.Command{
		Use:   "receiver URL",
		Short: "Send crafted webhooks to your endpoint and grade its answers",
		Long: `receiver plays a Standard Webhooks sender against your endpoint at URL:
after a signed preflight webhook, it sends valid, forged, stale, future,
redelivered, concurrent, large, non-JSON and charset-labelled webhooks, then
a light load (20/s for 5 s) and an open-loop load (--rate for --duration),
and grades every answer. It finishes in about 15 s with the defaults.

Checks (id, level: what is sent):
` + ruleList(conform.ReceiverRules()) + `
--scheme signs as GitHub, Stripe, Shopify, Slack, Svix or Convoy do
(docs/schemes.md); checks that do not apply to the scheme are skipped with
the reason (GitHub, Shopify and convoy-simple sign no timestamp; Slack has
no event id), and the risk an unsigned id leaves is stated.

The report goes to stdout (or --out): text, json (schema hookrig.conform/v1),
junit (one testcase per check) or html.`,
		Example: `  hookrig conform receiver http://127.0.0.1:3000/webhooks --secret whsec_...
  hookrig conform receiver http://127.0.0.1:3000/stripe --scheme stripe --secret whsec_from_the_dashboard
  hookrig conform receiver https://hooks.example.com/in --secret whsec_... --receipts https://hooks.example.com/v1/receipts
  hookrig conform receiver URL --secret whsec_... --skip ack.under-load --report junit --out conform.xml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return conformReceiver(cmd, e, args[0], o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.secret, "secret", "", "your endpoint's Standard Webhooks `secret` (whsec_...); required")
	o.scheme.register(f, false)
	f.StringVar(&o.receipts, "receipts", "", "`URL` of your endpoint's journal in the reference receiver's GET /v1/receipts format (as run --receipts), to check a redelivery is processed once")
	f.StringSliceVar(&o.only, "only", nil, "run only these check `IDs` (comma-separated)")
	f.StringSliceVar(&o.skip, "skip", nil, "leave out these check `IDs` (comma-separated)")
	f.Float64Var(&o.rate, "rate", conform.DefaultLoadRate, "webhooks a second of ack.under-load's open loop")
	f.DurationVar(&o.duration, "duration", conform.DefaultLoadDuration, "length of ack.under-load's open loop (at most 20,000 webhooks are sent)")
	f.DurationVar(&o.timeout, "timeout", conform.DefaultAckTimeout, "the sender timeout every answer must beat (ack.within-timeout)")
	f.StringArrayVarP(&o.headers, "header", "H", nil, "extra request header `\"Name: value\"` for every webhook (repeatable)")
	f.StringVarP(&o.format, "report", "r", string(report.Text), "report format: text, json, junit or html")
	f.StringVarP(&o.out, "out", "o", "", "write the report to `FILE` instead of stdout")
	return cmd
}

// ruleList is a catalogue for --help, one check a line.
func ruleList(rules []conform.Rule) string {
	var b strings.Builder
	for _, r := range rules {
		fmt.Fprintf(&b, "  %-28s %-6s %s\n", r.ID, r.Level, r.Sends)
	}
	return b.String()
}

func conformReceiver(cmd *cobra.Command, e *env, url string, o conformReceiverOptions) error {
	fail := func(format string, args ...any) error {
		return &exitCodeError{exitError, fmt.Errorf("conform receiver: "+format, args...)}
	}
	format, err := report.ParseFormat(o.format)
	if err != nil {
		return fail("--report: %w", err)
	}
	if o.secret == "" {
		return fail("--secret is required: your endpoint's signing secret (whsec_...)")
	}
	if !(o.rate > 0) || o.duration <= 0 || o.timeout <= 0 {
		return fail("--rate, --duration and --timeout must be positive (got %v, %s, %s)", o.rate, o.duration, o.timeout)
	}
	if _, _, err := o.scheme.build([]string{o.secret}, 0); err != nil {
		return fail("%w", err)
	}
	opts := conform.ReceiverOptions{
		Secret: o.secret, Scheme: conform.Scheme(o.scheme.name), Clock: e.clock, ReceiptsURL: o.receipts,
		Only: o.only, Skip: o.skip,
		LoadRate: o.rate, LoadDuration: o.duration, AckTimeout: o.timeout,
	}
	for _, h := range o.headers {
		hdr, err := loadgen.ParseHeader(h)
		if err != nil {
			return fail("--header: %w", err)
		}
		opts.Header = append(opts.Header, hdr)
	}
	rep, err := conform.Receiver(cmd.Context(), url, opts)
	var pe *conform.PreflightError
	switch {
	case errors.As(err, &pe):
		return &exitCodeError{exitError, err}
	case err != nil:
		return &exitCodeError{exitError, err} // the library's error names conform already
	}
	return writeConformance(e, &rep, format, o.out, fail)
}

// writeConformance writes the report and turns its verdict into the exit
// status: 1 when a MUST check failed.
func writeConformance(e *env, rep *verdict.Conformance, format report.Format, out string, fail func(string, ...any) error) error {
	var buf bytes.Buffer
	if err := report.RenderConformance(&buf, rep, format); err != nil {
		return fail("writing the report: %w", err)
	}
	if err := writeOutput(e, buf.Bytes(), out); err != nil {
		return fail("writing the report: %w", err)
	}
	if !rep.Passed {
		return &exitCodeError{exitAssertion, errors.New("a MUST check failed")}
	}
	return nil
}

type conformSenderOptions struct {
	secret, trigger, listen, format, out string
	only, skip                           []string
	window, retryAfter, outage, settle   time.Duration
	scheme                               schemeFlags // --id-from only: conform sender grades Standard Webhooks
}

func newConformSenderCmd(e *env) *cobra.Command {
	var o conformSenderOptions
	cmd := &cobra.Command{
		Use:   "sender --trigger TEMPLATE --secret whsec_...",
		Short: "Play the endpoint for your sender and grade its attempts",
		Long: `sender plays the webhook endpoint on --listen: it makes your sender emit
events through --trigger (the template run --trigger takes; {{.Endpoint}} is
where to deliver, {{.ID}} the webhook-id to use), answers each event's
attempts as its check needs (500, silence, a reset, 429 and 503 with
Retry-After, a 307, an outage, and last a 410) and grades what arrives
within --retry-window. A real sender's schedule may be hours long: run it
with a short test schedule (seconds between retries) for a quick verdict.

A sender that mints its own webhook-ids can be graded when it carries
hookrig's id somewhere else: --id-from json:data.hookrig_id (with
{"hookrig_id":"{{.ID}}"} in the trigger's event data) or --id-from
header:NAME. Attempts are then told apart by that id, and the id checks
grade the sender's own webhook-ids: one per event, kept on every retry.

Checks (id, level: what is answered and expected):
` + ruleList(conform.SenderRules()) + `
` + scenarios.TriggerHelp,
		Example: `  hookrig conform sender --listen 127.0.0.1:8090 --secret whsec_... \
    --trigger 'POST http://127.0.0.1:9000/emit {"id":"{{.ID}}","url":"{{.Endpoint}}"}'
  hookrig conform sender --trigger @emit.http --secret whsec_... --retry-window 10m --report junit --out sender.xml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return conformSender(cmd, e, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.secret, "secret", "", "the Standard Webhooks `secret` your sender signs with (whsec_...); required")
	f.StringVar(&o.trigger, "trigger", "", "an HTTP request template that makes your sender emit one event, inline or @file (see above); required")
	f.StringVar(&o.listen, "listen", "127.0.0.1:0", "`address` hookrig's endpoint listens on (your sender delivers there)")
	o.scheme.registerIDFrom(f, "where each attempt carries hookrig's id ({{.ID}}) when your sender mints its own webhook-ids: header:NAME or json:PATH, e.g. json:data.hookrig_id (default: the webhook-id)")
	f.DurationVar(&o.window, "retry-window", conform.DefaultRetryWindow, "how long to wait for retries and deliveries")
	f.DurationVar(&o.retryAfter, "retry-after", conform.DefaultRetryAfter, "the Retry-After the 429 and 503 answers ask for (whole seconds)")
	f.DurationVar(&o.outage, "outage", conform.DefaultOutage, "how long no-loss.outage's endpoint answers 503")
	f.DurationVar(&o.settle, "settle", conform.DefaultSettle, "how long to watch for attempts that must not come (after a 2xx, after a 410)")
	f.StringSliceVar(&o.only, "only", nil, "run only these check `IDs` (comma-separated)")
	f.StringSliceVar(&o.skip, "skip", nil, "leave out these check `IDs` (comma-separated)")
	f.StringVarP(&o.format, "report", "r", string(report.Text), "report format: text, json, junit or html")
	f.StringVarP(&o.out, "out", "o", "", "write the report to `FILE` instead of stdout")
	return cmd
}

func conformSender(cmd *cobra.Command, e *env, o conformSenderOptions) error {
	fail := func(format string, args ...any) error {
		return &exitCodeError{exitError, fmt.Errorf("conform sender: "+format, args...)}
	}
	format, err := report.ParseFormat(o.format)
	if err != nil {
		return fail("--report: %w", err)
	}
	if o.secret == "" || o.trigger == "" {
		return fail("--secret and --trigger are required (the secret your sender signs with, and how to make it emit an event)")
	}
	trig, err := readTrigger(o.trigger)
	if err != nil {
		return fail("%w", err)
	}
	idFrom, err := o.scheme.idSource()
	if err != nil {
		return fail("%w", err)
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fail("--listen: %w", err)
	}
	fmt.Fprintf(e.stderr, "hookrig: playing the endpoint on http://%s; grading for up to %s\n", ln.Addr(), o.window)
	rep, err := conform.Sender(cmd.Context(), conform.SenderOptions{
		Secret: o.secret, Clock: e.clock, Trigger: trig, Listener: ln,
		RetryWindow: o.window, RetryAfter: o.retryAfter, Outage: o.outage, Settle: o.settle,
		Only: o.only, Skip: o.skip, IDFrom: idFrom,
	})
	if err != nil {
		return &exitCodeError{exitError, err}
	}
	return writeConformance(e, &rep, format, o.out, fail)
}
