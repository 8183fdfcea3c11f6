package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newSenderCmd is a placeholder until the sender subcommand lands.
func newSenderCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:    "sender",
		Short:  "(not yet implemented)",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("sender: not yet implemented")
		},
	}
}
