package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/hookrig/hookrig/scenarios"
)

// readTrigger parses a --trigger value: a request template inline, or
// @FILE to read it from a file (whose name then labels parse errors). run
// and conform sender take the same flag this way.
func readTrigger(flag string) (*scenarios.Trigger, error) {
	text, label := flag, "--trigger"
	if file, ok := strings.CutPrefix(flag, "@"); ok {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--trigger: %w", err)
		}
		text, label = string(b), file
	}
	return scenarios.ParseTrigger(text, label)
}
