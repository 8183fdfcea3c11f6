package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/hookrig/hookrig/sim"
	"github.com/hookrig/hookrig/sim/report"
)

// newReportCmd re-renders saved results.
func newReportCmd(e *env) *cobra.Command {
	var format, out string
	cmd := &cobra.Command{
		Use:   "report RESULT.json [MORE.json...]",
		Short: "Render a saved result as text, JSON, JUnit XML or HTML (merging several)",
		Long: `Render a result saved with "--report json" again, in another format: text for
a terminal, json (the versioned schema, docs/result-schema.md), junit (one
testcase per assertion, for CI) or html (one self-contained page with
charts). "-" reads the result from stdin.

Several results of the same scenario (shards run side by side) are merged
first: counts add up and latency histograms merge exactly. Assertions are
per run, so a merged result lists none.

The exit status is 0 when the report was written, whatever the run's
verdict; 2 when a file could not be read or is not a hookrig result.`,
		Example: `  hookrig run flaky-5xx --report json --out result.json
  hookrig report result.json
  hookrig report result.json --format html --out report.html
  hookrig report shard-*.json --format junit --out junit.xml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := report.ParseFormat(format)
			if err != nil {
				return &exitCodeError{exitError, fmt.Errorf("report: --format: %w", err)}
			}
			results := make([]*sim.Result, 0, len(args))
			for _, name := range args {
				r, err := readResult(e, name)
				if err != nil {
					return &exitCodeError{exitError, fmt.Errorf("report: %w", err)}
				}
				results = append(results, r)
			}
			r := results[0]
			if len(results) > 1 {
				if r, err = sim.Merge(results...); err != nil {
					return &exitCodeError{exitError, fmt.Errorf("report: %w", err)}
				}
			}
			if err := writeReport(e, r, f, out); err != nil {
				return &exitCodeError{exitError, fmt.Errorf("report: %w", err)}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", string(report.Text), "output format: text, json, junit or html")
	cmd.Flags().StringVarP(&out, "out", "o", "", "write the report to `FILE` instead of stdout")
	return cmd
}

// maxResultSize bounds a result file: a real one is tens of KB.
const maxResultSize = 64 << 20

// readResult reads and checks one saved result ("-" is stdin).
func readResult(e *env, name string) (*sim.Result, error) {
	var (
		data []byte
		err  error
	)
	if name == "-" {
		data, err = io.ReadAll(io.LimitReader(e.stdin, maxResultSize+1))
		name = "stdin"
	} else {
		var f *os.File
		if f, err = os.Open(name); err == nil {
			data, err = io.ReadAll(io.LimitReader(f, maxResultSize+1))
			f.Close()
		}
	}
	if err != nil {
		return nil, err
	}
	if len(data) > maxResultSize {
		return nil, fmt.Errorf("%s: over %d MB: not a hookrig result", name, maxResultSize>>20)
	}
	return report.ReadJSON(data, name)
}

// writeReport renders r in format f to stdout, or to the file out. The
// file is written whole or not at all: a failed render leaves no half
// report behind (and no earlier report overwritten).
func writeReport(e *env, r *sim.Result, f report.Format, out string) error {
	var buf bytes.Buffer
	if err := report.Render(&buf, r, f); err != nil {
		return err
	}
	return writeOutput(e, buf.Bytes(), out)
}

// writeOutput writes b to stdout, or whole to the file out (through a
// temporary file renamed into place).
func writeOutput(e *env, b []byte, out string) error {
	if out == "" {
		_, err := e.stdout.Write(b)
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}
