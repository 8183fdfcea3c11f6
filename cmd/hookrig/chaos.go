package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newChaosCmd is a placeholder until the chaos subcommand lands.
func newChaosCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:    "chaos",
		Short:  "(not yet implemented)",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("chaos: not yet implemented")
		},
	}
}
