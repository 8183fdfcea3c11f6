package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim/report"
)

// scenarioFlags are the flags hookrig run and hookrig sim share: which
// report, where, and the scenario settings a command line may override.
type scenarioFlags struct {
	format, out string
	seed        uint64
	drain       time.Duration
	quiet       bool
	sets        []string
}

func (o *scenarioFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&o.format, "report", "r", string(report.Text), "report format: text, json, junit or html")
	f.StringVarP(&o.out, "out", "o", "", "write the report to `FILE` instead of stdout")
	f.Uint64Var(&o.seed, "seed", 0, "seed for the fault draws, jitter and load (default: the scenario's)")
	f.DurationVar(&o.drain, "drain", 0, "override the scenario's drain.timeout")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "no progress on stderr, only errors")
	f.StringArrayVar(&o.sets, "set", nil, "override a scenario value: `PATH=VALUE`, e.g. sender.policy.max_attempts=4 or faults[0].probability=0.5 (repeatable)")
}

// open parses the report format and opens the scenario (a built-in name or
// a file) with the command line's overrides applied. Every error is a
// could-not-run error (exit 2) prefixed with verb.
func (o *scenarioFlags) open(cmd *cobra.Command, verb, name string) (*scenarios.Scenario, report.Format, error) {
	format, err := report.ParseFormat(o.format)
	if err != nil {
		return nil, "", &exitCodeError{exitError, fmt.Errorf("%s: --report: %w", verb, err)}
	}
	s, err := o.scenario(cmd, verb, name)
	return s, format, err
}

// scenario opens the scenario with the command line's --set, --seed and
// --drain applied, and the extra overrides after the --set ones.
func (o *scenarioFlags) scenario(cmd *cobra.Command, verb, name string, extra ...scenarios.Set) (*scenarios.Scenario, error) {
	fail := func(format string, args ...any) error {
		return &exitCodeError{exitError, fmt.Errorf(verb+": "+format, args...)}
	}
	sets := make([]scenarios.Set, 0, len(o.sets)+len(extra))
	for _, text := range o.sets {
		st, err := scenarios.ParseSet(text)
		if err != nil {
			return nil, fail("%w", err)
		}
		sets = append(sets, st)
	}
	s, err := scenarios.OpenWith(name, append(sets, extra...))
	if err != nil {
		var es scenarios.Errors
		if errors.As(err, &es) {
			return nil, fail("%s is not a valid scenario:\n%w", name, err)
		}
		return nil, fail("%w", err)
	}
	if cmd.Flags().Changed("seed") {
		s.Seed = o.seed
	}
	if cmd.Flags().Changed("drain") {
		if o.drain <= 0 {
			return nil, fail("--drain %s: expected a positive duration", o.drain)
		}
		s.Drain.Timeout = o.drain
	}
	return s, nil
}

// replay is the command line that runs the same scenario again with seed:
// the verb ("hookrig run", "hookrig sim"), the scenario, and the flags
// that changed it.
func (o *scenarioFlags) replay(cmd *cobra.Command, verb, name string, seed uint64) string {
	parts := []string{verb, name, fmt.Sprintf("--seed %d", seed)}
	if cmd.Flags().Changed("drain") {
		parts = append(parts, "--drain "+o.drain.String())
	}
	for _, s := range o.sets {
		parts = append(parts, "--set "+shellQuote(s))
	}
	return strings.Join(parts, " ")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-=:/@,+%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
