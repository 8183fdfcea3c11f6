package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newBenchCmd is a placeholder until the bench subcommand lands.
func newBenchCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:    "bench",
		Short:  "(not yet implemented)",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("bench: not yet implemented")
		},
	}
}
