package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/hookrig/hookrig/scenarios"
)

// newScenariosCmd lists, shows and validates scenarios.
func newScenariosCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scenarios",
		Short: "List the built-in scenarios, print one to copy, or validate scenario files",
		Long: `A scenario is a YAML file: load phases, a fault timeline, the drain, and
assertions over the result. hookrig embeds a library of them; copy one with
"hookrig scenarios show NAME > mine.yaml", edit it, check it with
"hookrig scenarios validate mine.yaml" and run it with "hookrig run mine.yaml".`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newScenariosListCmd(e), newScenariosShowCmd(e), newScenariosValidateCmd(e))
	return cmd
}

func newScenariosListCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the built-in scenarios with what each demonstrates",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			list, err := scenarios.List()
			if err != nil {
				return &exitCodeError{exitError, fmt.Errorf("scenarios: %w", err)}
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			for _, s := range list {
				fmt.Fprintf(tw, "%s\t%s\n", s.Name, s.Summary())
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "\nhookrig run NAME runs one (baseline when no NAME is given); hookrig scenarios show NAME prints it.\n")
			return nil
		},
	}
}

func newScenariosShowCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "show NAME",
		Short:   "Print a built-in scenario's YAML, to copy and edit",
		Example: "  hookrig scenarios show flaky-5xx > my-scenario.yaml",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := scenarios.BuiltinSource(args[0])
			if err != nil {
				return &exitCodeError{exitError, fmt.Errorf("scenarios show: %w", err)}
			}
			_, err = e.stdout.Write(src)
			return err
		},
	}
}

func newScenariosValidateCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check scenario files without running them (errors as file:line:column)",
		Long: `validate parses and checks each file exactly as "hookrig run" would before
starting anything: unknown keys, wrong types, bad durations, pacers, fault
rules, sender policies and assertion expressions. Every problem is printed
as file:line:column with what was expected. "-" reads stdin. Exit status 0
when every file is valid, 2 otherwise.`,
		Example: "  hookrig scenarios validate scenarios/*.yaml",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			bad := 0
			for _, name := range args {
				if err := validateScenario(e, name); err != nil {
					bad++
					fmt.Fprintln(e.stderr, err)
				}
			}
			if bad > 0 {
				return &exitCodeError{exitError, fmt.Errorf("scenarios validate: %d of %d %s not valid", bad, len(args), plural(len(args), "file is", "files are"))}
			}
			return nil
		},
	}
}

// validateScenario checks one file and says what it holds.
func validateScenario(e *env, name string) error {
	var data []byte
	var err error
	if name == "-" {
		data, err = io.ReadAll(io.LimitReader(e.stdin, 16<<20))
		name = "stdin"
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return err
	}
	s, err := scenarios.Parse(data, name)
	if err != nil {
		var es scenarios.Errors
		if errors.As(err, &es) {
			// One problem a line, each file:line:column, in file order,
			// then how many: a long list is not mistaken for the first
			// few.
			return fmt.Errorf("%w\n%s: %d %s", es, name, len(es), plural(len(es), "problem", "problems"))
		}
		return err
	}
	fmt.Fprintf(e.stdout, "%s: ok: scenario %s, %d %s over %s, %d %s, %d %s\n", name, s.Name,
		len(s.Load.Phases), plural(len(s.Load.Phases), "phase", "phases"), s.LoadEnd(),
		len(s.Faults), plural(len(s.Faults), "fault rule", "fault rules"),
		len(s.Assertions), plural(len(s.Assertions), "assertion", "assertions"))
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
