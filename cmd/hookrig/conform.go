package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookrig/hookrig/loadgen"
	"github.com/hookrig/hookrig/reference/conform"
	"github.com/hookrig/hookrig/sim/report"
)

// newConformCmd grades a user's receiver (and later sender) against
// Standard Webhooks, rule by rule.
func newConformCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "conform",
		Short: "Grade your webhook receiver against Standard Webhooks, rule by rule",
		Long: `conform checks a webhook implementation against the Standard Webhooks
specification: every check has a stable id, a level (MUST or SHOULD), the
spec section it comes from, PASS/FAIL/WARN/SKIP and one line of evidence.
Exit status: 0 every MUST check passed, 1 one failed, 2 a usage error or a
failed preflight.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newConformReceiverCmd(e))
	return cmd
}

type conformReceiverOptions struct {
	secret, receipts, format, out string
	only, skip, headers           []string
	rate                          float64
	duration, timeout             time.Duration
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
` + checkList() + `
The report goes to stdout (or --out): text, json (schema hookrig.conform/v1),
junit (one testcase per check) or html.`,
		Example: `  hookrig conform receiver http://127.0.0.1:3000/webhooks --secret whsec_...
  hookrig conform receiver https://hooks.example.com/in --secret whsec_... --receipts https://hooks.example.com/v1/receipts
  hookrig conform receiver URL --secret whsec_... --skip ack.under-load --report junit --out conform.xml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return conformReceiver(cmd, e, args[0], o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.secret, "secret", "", "your endpoint's Standard Webhooks `secret` (whsec_...); required")
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

// checkList is the catalogue for --help, one check a line.
func checkList() string {
	var b strings.Builder
	for _, r := range conform.ReceiverRules() {
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
	opts := conform.ReceiverOptions{
		Secret: o.secret, Clock: e.clock, ReceiptsURL: o.receipts,
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
	var buf bytes.Buffer
	if err := report.RenderConformance(&buf, &rep, format); err != nil {
		return fail("writing the report: %w", err)
	}
	if err := writeOutput(e, buf.Bytes(), o.out); err != nil {
		return fail("writing the report: %w", err)
	}
	if !rep.Passed {
		return &exitCodeError{exitAssertion, errors.New("a MUST check failed")}
	}
	return nil
}
