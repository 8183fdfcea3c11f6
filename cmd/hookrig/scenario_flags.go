package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim/report"
	"github.com/hookrig/hookrig/sim/verdict"
)

// scenarioFlags are the flags hookrig run and hookrig sim share: which
// report, where, and the scenario settings a command line may override.
type scenarioFlags struct {
	format, out string
	seed        uint64
	drain       time.Duration
	duration    time.Duration
	quiet       bool
	sets        []string
	asserts     []string
	// profile names the assertions the run is judged by when they are
	// not the scenario's own: "command line" for --assert,
	// scenarios.EndpointProfile against the user's endpoint; "" for the
	// scenario's.
	profile string
	// endpoint says the run's receiving end is the user's: without an
	// --assert that replaces them, the endpoint profile judges it.
	endpoint bool
	// runFlags are the flags of the command's own that determine the
	// run (hookrig run's endpoint, trigger, proxy, secret by reference),
	// as they go into the replay line.
	runFlags []string
}

func (o *scenarioFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&o.format, "report", "r", string(report.Text), "report format: text, json, junit or html")
	f.StringVarP(&o.out, "out", "o", "", "write the report to `FILE` instead of stdout")
	f.Uint64Var(&o.seed, "seed", 0, "seed for the fault draws, jitter and load (default: the scenario's)")
	f.DurationVar(&o.drain, "drain", 0, "override the scenario's drain.timeout")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "no progress on stderr, only errors")
	f.StringArrayVar(&o.sets, "set", nil, "override a scenario value: `PATH=VALUE`, e.g. sender.policy.max_attempts=4 or faults[0].probability=0.5 (repeatable)")
	f.StringArrayVar(&o.asserts, "assert", nil, "judge the run by this assertion instead of the scenario's, e.g. 'lost == 0' or 'delivery.p99 < 2s'; +EXPR adds to them (repeatable)")
	f.DurationVar(&o.duration, "duration", 0, "scale the load phases (and the fault timeline with them) to last `D` in total")
}

// open parses the report format and opens the scenario (a built-in name or
// a file) with the command line's overrides applied. Every error is a
// could-not-run error (exit 2) prefixed with verb.
func (o *scenarioFlags) open(cmd *cobra.Command, verb, name string) (*scenarios.Scenario, report.Format, error) {
	format, err := report.ParseFormat(o.format)
	if err != nil {
		return nil, "", &exitCodeError{exitError, fmt.Errorf("%s: --report: %w", verb, err)}
	}
	if err := checkWritable("out", o.out); err != nil {
		return nil, "", &exitCodeError{exitError, fmt.Errorf("%s: %w", verb, err)}
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
	if cmd.Flags().Changed("duration") {
		if s, err = s.WithLoadDuration(o.duration); err != nil {
			return nil, fail("--duration: %w", err)
		}
	}
	if err := o.judgeBy(s); err != nil {
		return nil, fail("%w", err)
	}
	return s, nil
}

// judgeBy applies --assert: EXPR replaces the scenario's assertions (the
// first one given does), +EXPR adds to them.
func (o *scenarioFlags) judgeBy(s *scenarios.Scenario) error {
	var replace, add []scenarios.Assertion
	for _, text := range o.asserts {
		src, plus := strings.CutPrefix(strings.TrimSpace(text), "+")
		a, err := scenarios.ParseAssertion(src)
		if err != nil {
			return fmt.Errorf("--assert: %w", err)
		}
		if plus {
			add = append(add, a)
		} else {
			replace = append(replace, a)
		}
	}
	switch {
	case len(replace) > 0:
		s.Assertions = replace
		o.profile = "command line"
	case o.endpoint:
		s.Assertions = scenarios.EndpointAssertions()
		o.profile = scenarios.EndpointProfile
	}
	s.Assertions = append(slices.Clip(s.Assertions), add...)
	return nil
}

// replayLine is what determines a run, enough to run it again: the mode
// (a live run replays with hookrig run, a virtual one with hookrig sim),
// the scenario as the user named it (a built-in or a file), the seed and
// the command line's overrides. The library reports the mode and the seed
// of each run; the rest is the command line's own, so the text is written
// here and nowhere else.
type replayLine struct {
	mode     string // verdict.ModeLive or verdict.ModeVirtual
	scenario string
	seed     uint64
	drain    time.Duration // 0: the scenario's own drain.timeout
	duration time.Duration // 0: the scenario's own length
	sets     []string      // --set PATH=VALUE, in the order given
	asserts  []string      // --assert EXPR, in the order given
	flags    []string      // the command's own, already written (--receiver URL, ...)
}

// String is the command line, each word quoted for a POSIX shell when it
// needs it.
func (l replayLine) String() string {
	verb := "hookrig sim"
	if l.mode == verdict.ModeLive {
		verb = "hookrig run"
	}
	parts := []string{verb, shellQuote(l.scenario), fmt.Sprintf("--seed %d", l.seed)}
	if l.drain > 0 {
		parts = append(parts, "--drain "+l.drain.String())
	}
	if l.duration > 0 {
		parts = append(parts, "--duration "+l.duration.String())
	}
	for _, s := range l.sets {
		parts = append(parts, "--set "+shellQuote(s))
	}
	for _, a := range l.asserts {
		parts = append(parts, "--assert "+shellQuote(a))
	}
	parts = append(parts, l.flags...)
	return strings.Join(parts, " ")
}

// replay is the command line that runs the named scenario again in mode
// with seed, with the flags that changed it and then extra --set values.
func (o *scenarioFlags) replay(cmd *cobra.Command, name, mode string, seed uint64, extra ...string) string {
	l := replayLine{mode: mode, scenario: name, seed: seed, sets: append(slices.Clip(o.sets), extra...),
		asserts: o.asserts, flags: o.runFlags}
	if cmd.Flags().Changed("drain") {
		l.drain = o.drain
	}
	if cmd.Flags().Changed("duration") {
		l.duration = o.duration
	}
	return l.String()
}

// replaySweep fills every seed's replay command of a sweep.
func (o *scenarioFlags) replaySweep(cmd *cobra.Command, name string, res *verdict.SweepResult, extra ...string) {
	for i := range res.Runs {
		res.Runs[i].Replay = o.replay(cmd, name, verdict.ModeVirtual, res.Runs[i].Seed, extra...)
	}
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-=:/@,+%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
