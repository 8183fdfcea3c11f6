package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newReceiverCmd is a placeholder until the receiver subcommand lands.
func newReceiverCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:    "receiver",
		Short:  "(not yet implemented)",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("receiver: not yet implemented")
		},
	}
}
