package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/hookrig/hookrig/internal/clock"
)

// Exit statuses: 0 everything held, 1 an assertion failed (the run was
// done, the pipeline did not meet its promises), 2 the command itself could
// not be done (bad flags, bad scenario, port in use, ...).
const (
	exitOK        = 0
	exitAssertion = 1
	exitError     = 2
)

// exitCodeError carries a specific exit status out of a command.
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string { return e.err.Error() }
func (e *exitCodeError) Unwrap() error { return e.err }

// env is everything a command may take from the process: streams, the
// environment and the clock. Tests build their own.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	clock  clock.Clock
	// stdoutTTY says whether stdout is a terminal (progress bars) or a
	// pipe/file (plain progress lines instead).
	stdoutTTY bool
	stderrTTY bool
}

func newEnv(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *env {
	return &env{
		stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv,
		clock:     clock.Real{},
		stdoutTTY: isTerminal(stdout),
		stderrTTY: isTerminal(stderr),
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// run executes hookrig with args and returns the exit status.
func run(ctx context.Context, args []string, e *env) int {
	root := newRootCmd(e)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ec *exitCodeError
	if errors.As(err, &ec) {
		if ec.err != nil && ec.code != exitAssertion {
			fmt.Fprintf(e.stderr, "hookrig: %v\n", ec.err)
		}
		return ec.code
	}
	fmt.Fprintf(e.stderr, "hookrig: %v\n", err)
	return exitError
}

func newRootCmd(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "hookrig",
		Short: "Test webhook reliability: what was lost, duplicated or reordered",
		Long: `hookrig tests whether webhooks actually arrive. A reference sender and
receiver are exercised by a load generator and an HTTP chaos proxy on a
scripted timeline; every run ends in a delivery-guarantee report.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	// A flag error is one line: the flag, the value and the form expected.
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(
		newReceiverCmd(e),
		newSenderCmd(e),
		newChaosCmd(e),
		newBenchCmd(e),
		newConformCmd(e),
		newReportCmd(e),
		newRunCmd(e),
		newScenariosCmd(e),
		newSimCmd(e),
		newReplayCmd(e),
	)
	addVersion(root)
	return root
}
