package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim"
	"github.com/hookrig/hookrig/sim/live"
	"github.com/hookrig/hookrig/sim/report"
	"github.com/hookrig/hookrig/sim/verdict"
	"github.com/hookrig/hookrig/sim/virtual"
)

type simOptions struct {
	scenarioFlags
	compare bool
	seeds   uint64
	vary    string
}

// newSimCmd runs a scenario in virtual time.
func newSimCmd(e *env) *cobra.Command {
	var o simOptions
	cmd := &cobra.Command{
		Use:   "sim [NAME|FILE]",
		Short: "Run a scenario in virtual time: deterministic, seeded, a day of outages in seconds",
		Long: `sim runs a scenario (a built-in by NAME, or a YAML FILE; baseline when none
is given) in virtual time: the same load, the same fault timeline, the same
delivery policy code as the reference sender and the same fault choice as
the chaos proxy, with the network, the outbox's disk and the receiver
modelled, on one thread with no clock to wait for. A day of retries takes
seconds, and the same seed gives the same report, byte for byte in JSON.
It produces the same report as hookrig run; its footer gives the seed, the
trace hash (a fingerprint of everything that happened), how long the run
took and how much faster than real time it went.

--seeds N runs the scenario under N seeds (from --seed, or the scenario's
seed, upwards), on every core, and reports instead how far each figure
spreads across the seeds and which seeds failed an assertion, each with the
command that replays it alone (text; json; junit with one testcase per
seed; html with a histogram over the seeds of each figure that varied).
--vary PATH=V1,V2,... (with --seeds) runs that sweep once per value of one
setting of the scenario file, as --set PATH=V would, and prints one row
per value: seeds failed, and lost, dead-lettered, duplicates, retry
amplification and delivery p99 across the seeds. One lucky seed proves little about a retry policy; a hundred that
all hold say more.

--compare runs the scenario live as well (hookrig run, in real time) and
prints both side by side, with the tolerances the simulator promises: lost
and dead-lettered equal; duplicates, attempts per event and retry
amplification within 10%; delivery p50 and p99 within 25%. The model is
first scaled to this machine's speed, measured from the live run's
undelayed deliveries.

The report goes to stdout (or --out), progress to stderr. Exit status: 0
every assertion held (with --compare: and the runs agree), 1 an assertion
failed (or the runs disagree), 2 the run could not be done (bad scenario,
a scenario with your own sender or endpoint, which only a live run can
exercise).`,
		Example: `  hookrig sim day-long-outage
  hookrig sim flaky-5xx --seed 7 --report json --out result.json
  hookrig sim my-scenario.yaml --report html --out report.html
  hookrig sim outage-recovery --compare
  hookrig sim flaky-5xx --seeds 200 --report junit --out seeds.xml
  hookrig sim flaky-5xx --seeds 100 --vary sender.policy.max_attempts=3,4,5,6,8`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := scenarios.DefaultScenario
			if len(args) == 1 {
				name = args[0]
			}
			return simScenario(cmd, e, name, o)
		},
	}
	o.register(cmd)
	f := cmd.Flags()
	f.BoolVar(&o.compare, "compare", false, "run the scenario live too and print both side by side (takes the scenario's real time)")
	f.Uint64Var(&o.seeds, "seeds", 0, "run under `N` seeds (from --seed upwards) and report the spread and the failing seeds")
	f.StringVar(&o.vary, "vary", "", "with --seeds: sweep once per value of a scenario setting, `PATH=V1,V2,...`, and compare them in a table")
	return cmd
}

func simScenario(cmd *cobra.Command, e *env, name string, o simOptions) error {
	fail := func(format string, args ...any) error {
		return &exitCodeError{exitError, fmt.Errorf("sim: "+format, args...)}
	}
	s, format, err := o.open(cmd, "sim", name)
	if err != nil {
		return err
	}
	schemeNote, err := virtualSchemeNote(s)
	if err != nil {
		return fail("%w", err)
	}
	if o.compare && format != report.Text {
		return fail("--compare prints a table for people; save a result with --report %s without --compare", format)
	}
	if o.vary != "" {
		if !cmd.Flags().Changed("seeds") {
			return fail("--vary needs --seeds N: each value is a sweep over seeds")
		}
		return varyScenario(cmd, e, name, s.Seed, o, format)
	}
	if cmd.Flags().Changed("seeds") {
		switch {
		case o.seeds == 0:
			return fail("--seeds 0: expected at least one seed")
		case o.compare:
			return fail("--seeds and --compare do not go together: compare one seed live, sweep many in virtual time")
		}
		return sweepScenario(cmd, e, name, s, o)
	}
	if o.compare {
		return compareScenario(cmd, e, name, s, o)
	}
	res, st, err := simulate(cmd, e, s, virtual.Options{}, o.quiet)
	if err != nil {
		return fail("%w", err)
	}
	res.Replay = o.replay(cmd, name, res.Mode, res.Seed)
	if schemeNote != "" {
		res.Notes = append(res.Notes, schemeNote)
	}
	if werr := writeReport(e, res, format, o.out); werr != nil {
		return fail("writing the report: %w", werr)
	}
	if !o.quiet {
		fmt.Fprintf(e.stderr, "hookrig: simulated %s in %s (%s× real time): %d attempts, %s attempts/s\n",
			time.Duration(res.Run.EndS*float64(time.Second)).Round(time.Millisecond), res.WallTime.Round(time.Millisecond),
			trimRatio(res.SpeedUp), st.Attempts, perSecond(st.Attempts, res.WallTime))
	}
	if !res.Passed {
		if !o.quiet {
			fmt.Fprintf(e.stderr, "hookrig: to replay it: %s\n", res.Replay)
		}
		return &exitCodeError{exitAssertion, errors.New(res.FailureSummary())}
	}
	return nil
}

// simulate runs s in virtual time and notes how long it took (the
// library reads no clock: the wall time and the speed-up are measured
// here, and go to the text footer, never into the JSON).
func simulate(cmd *cobra.Command, e *env, s *scenarios.Scenario, opts virtual.Options, quiet bool) (*verdict.Result, virtual.Stats, error) {
	start := e.clock.Now()
	if !quiet {
		fmt.Fprintf(e.stderr, "hookrig: simulating %s (seed %d): load for %s, then a drain of up to %s, in virtual time\n",
			s.Name, s.Seed, s.LoadEnd(), s.Drain.Timeout)
		last := start
		opts.Progress = func(p virtual.Progress) {
			// At most one line a second of wall time: a short run prints
			// none, a day-long one a few.
			if now := e.clock.Now(); !p.Done && now.Sub(last) >= time.Second {
				last = now
				fmt.Fprintf(e.stderr, "sim: %s/%s virtual · accepted %d · pending %d · attempts %d\n",
					p.Elapsed.Round(time.Second), p.LoadEnd, p.Accepted, p.Pending, p.Attempts)
			}
		}
	}
	res, st, err := sim.RunVirtual(cmd.Context(), s, opts)
	if err != nil {
		return nil, st, err
	}
	res.WallTime = max(e.clock.Now().Sub(start), time.Microsecond)
	res.SpeedUp = res.Run.EndS / res.WallTime.Seconds()
	return res, st, nil
}

// compareScenario runs s live, then in virtual time with the model scaled
// to this machine, and prints both side by side.
func compareScenario(cmd *cobra.Command, e *env, name string, s *scenarios.Scenario, o simOptions) error {
	fail := func(format string, args ...any) error {
		return &exitCodeError{exitError, fmt.Errorf("sim --compare: "+format, args...)}
	}
	liveOpts := live.Options{
		Clock:  e.clock,
		Logger: slog.New(slog.DiscardHandler),
	}
	if !o.quiet {
		fmt.Fprintf(e.stderr, "hookrig: running %s live (seed %d): load for %s, then a drain of up to %s\n",
			s.Name, s.Seed, s.LoadEnd(), s.Drain.Timeout)
		show := &runLines{w: e.stderr}
		liveOpts.Progress = show.update
	}
	lr, err := sim.Run(cmd.Context(), s, liveOpts)
	if err != nil {
		return fail("the live run: %w", err)
	}
	model, err := sim.CalibrateModel(cmd.Context(), s, lr, virtual.DefaultModel())
	if err != nil {
		return fail("%w", err)
	}
	virt, _, err := simulate(cmd, e, s, virtual.Options{Model: &model}, o.quiet)
	if err != nil {
		return fail("%w", err)
	}
	lr.Replay = o.replay(cmd, name, lr.Mode, lr.Seed)
	virt.Replay = o.replay(cmd, name, virt.Mode, virt.Seed)
	rows := sim.Compare(lr, virt)
	var b bytes.Buffer
	writeComparison(&b, s, lr, virt, model, rows)
	if err := writeOutput(e, b.Bytes(), o.out); err != nil {
		return fail("writing the comparison: %w", err)
	}
	switch {
	case !sim.Agree(rows):
		return &exitCodeError{exitAssertion, errors.New("the live and virtual runs disagree")}
	case !lr.Passed || !virt.Passed:
		return &exitCodeError{exitAssertion, errors.New("an assertion failed")}
	}
	return nil
}

func writeComparison(w io.Writer, s *scenarios.Scenario, lr, virt *verdict.Result, model virtual.Model, rows []sim.Agreement) {
	fmt.Fprintf(w, "hookrig · scenario %s · live and virtual, seed %d\n", s.Name, s.Seed)
	factor := float64(model.Network) / float64(virtual.DefaultModel().Network)
	fmt.Fprintf(w, "the model is scaled ×%s to this machine's speed (undelayed deliveries took %s live)\n\n",
		trimRatio(factor), baseText(lr))
	sim.WriteComparison(w, rows)
	line := "AGREE  every judged number is within its tolerance"
	if !sim.Agree(rows) {
		line = "DIFFER  see the rows marked DIFFERS"
	}
	fmt.Fprintf(w, "\n%s\n", line)
	for _, r := range rows {
		if r.Noise {
			fmt.Fprintf(w, "note: the live %s (%s ms) is among the deliveries nothing delayed: it measures this machine's scheduling noise (GC, other processes), which the model does not reproduce, not what the policy or the faults did\n",
				strings.TrimSuffix(r.Metric, " (ms)"), strconv.FormatFloat(r.Live, 'g', 4, 64))
		}
	}
	fmt.Fprintf(w, "assertions: live %s, virtual %s\n", passText(lr), passText(virt))
	fmt.Fprintf(w, "live took %s; virtual %s (%s× real time), trace %s\n", lr.WallTime.Round(time.Millisecond),
		virt.WallTime.Round(time.Millisecond), trimRatio(virt.SpeedUp), virt.TraceHash)
	fmt.Fprintf(w, "replay: %s\n        %s\n", lr.Replay, virt.Replay)
}

func baseText(r *verdict.Result) string {
	d, err := sim.BaseLatency(r)
	if err != nil {
		return "(nothing delivered)"
	}
	return d.Round(time.Microsecond).String()
}

func passText(r *verdict.Result) string {
	if r.Passed {
		return fmt.Sprintf("%d/%d held", len(r.Assertions), len(r.Assertions))
	}
	return fmt.Sprintf("%d of %d FAILED", r.FailedAssertions(), len(r.Assertions))
}

func trimRatio(x float64) string {
	switch {
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

func perSecond(n int64, d time.Duration) string {
	r := float64(n) / d.Seconds()
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2fM", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.0fk", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}

// sweepScenario runs s under o.seeds seeds and reports the spread.
func sweepScenario(cmd *cobra.Command, e *env, name string, s *scenarios.Scenario, o simOptions) error {
	fail := func(format string, args ...any) error {
		return &exitCodeError{exitError, fmt.Errorf("sim --seeds: "+format, args...)}
	}
	opts := sim.SweepOptions{First: s.Seed, Count: o.seeds}
	start := e.clock.Now()
	if !o.quiet {
		fmt.Fprintf(e.stderr, "hookrig: simulating %s under %d seeds (%d to %d), %d at a time, in virtual time\n",
			s.Name, o.seeds, s.Seed, s.Seed+o.seeds-1, min(uint64(runtime.GOMAXPROCS(0)), o.seeds))
		last := start
		opts.Done = func(done, total uint64, failed int) {
			// At most one line a second of wall time.
			if now := e.clock.Now(); done < total && now.Sub(last) >= time.Second {
				last = now
				fmt.Fprintf(e.stderr, "sim: %d/%d seeds · %d failed\n", done, total, failed)
			}
		}
	}
	res, err := sim.Sweep(cmd.Context(), s, opts)
	if err != nil {
		return fail("%w", err)
	}
	o.replaySweep(cmd, name, res)
	var b bytes.Buffer
	format, _ := report.ParseFormat(o.format) // checked by open
	if err := report.RenderSweep(&b, res, format); err != nil {
		return fail("%w", err)
	}
	if err := writeOutput(e, b.Bytes(), o.out); err != nil {
		return fail("writing the report: %w", err)
	}
	if !o.quiet {
		wall := max(e.clock.Now().Sub(start), time.Microsecond)
		fmt.Fprintf(e.stderr, "hookrig: %d seeds in %s (%s seeds/s)\n", o.seeds, wall.Round(time.Millisecond),
			trimRatio(float64(o.seeds)/wall.Seconds()))
	}
	if !res.Passed {
		return &exitCodeError{exitAssertion, fmt.Errorf("%d of %d seeds failed an assertion", res.Failed, res.Count)}
	}
	return nil
}

// varyScenario sweeps the scenario once per value of o.vary's setting.
func varyScenario(cmd *cobra.Command, e *env, name string, first uint64, o simOptions, format report.Format) error {
	fail := func(format string, args ...any) error {
		return &exitCodeError{exitError, fmt.Errorf("sim --vary: "+format, args...)}
	}
	path, list, ok := strings.Cut(o.vary, "=")
	values := strings.Split(list, ",")
	if !ok || strings.TrimSpace(path) == "" || slices.Contains(values, "") {
		return fail("%q: expected PATH=V1,V2,..., e.g. sender.policy.max_attempts=3,4,5", o.vary)
	}
	if o.seeds == 0 {
		return fail("--seeds 0: expected at least one seed")
	}
	start := e.clock.Now()
	res, err := sim.Vary(cmd.Context(), path, values, func(v string) (*scenarios.Scenario, sim.SweepOptions, error) {
		st, err := scenarios.ParseSet(path + "=" + v)
		if err != nil {
			return nil, sim.SweepOptions{}, err
		}
		s, err := o.scenario(cmd, path+"="+v, name, st)
		if err != nil {
			return nil, sim.SweepOptions{}, err
		}
		if !o.quiet {
			fmt.Fprintf(e.stderr, "hookrig: %s=%s: %d seeds from %d\n", path, v, o.seeds, first)
		}
		return s, sim.SweepOptions{First: first, Count: o.seeds}, nil
	})
	if err != nil {
		return fail("%w", err)
	}
	for _, v := range res.Values {
		o.replaySweep(cmd, name, v.Sweep, path+"="+v.Value)
	}
	var b bytes.Buffer
	if err := report.RenderVary(&b, res, format); err != nil {
		return fail("%w", err)
	}
	if err := writeOutput(e, b.Bytes(), o.out); err != nil {
		return fail("writing the report: %w", err)
	}
	if !o.quiet {
		fmt.Fprintf(e.stderr, "hookrig: %d values × %d seeds in %s\n", len(values), o.seeds,
			max(e.clock.Now().Sub(start), time.Microsecond).Round(time.Millisecond))
	}
	return nil
}
