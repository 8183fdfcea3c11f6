package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/hookrig/hookrig/loadgen"
	"github.com/hookrig/hookrig/sim/report"
	"github.com/hookrig/hookrig/sim/verdict"
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

A sweep saved with "hookrig sim NAME --seeds N --report json" is rendered
again in any format (on its own: sweeps are not merged), and so is a bench
result saved with "hookrig bench URL --report json".

The exit status is 0 when the report was written, whatever the run's
verdict; 2 when a file could not be read or is not a hookrig result.`,
		Example: `  hookrig run flaky-5xx --report json --out result.json
  hookrig report result.json
  hookrig report result.json --report html --out report.html
  hookrig report shard-*.json --report junit --out junit.xml
  hookrig bench http://127.0.0.1:8080/hook --report json --out bench.json && hookrig report bench.json --report html --out bench.html`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := report.ParseFormat(format)
			if err != nil {
				return &exitCodeError{exitError, fmt.Errorf("report: --report: %w", err)}
			}
			if err := checkWritable("out", out); err != nil {
				return &exitCodeError{exitError, fmt.Errorf("report: %w", err)}
			}
			results := make([]*verdict.Result, 0, len(args))
			for _, name := range args {
				data, label, err := readSaved(e, name)
				if err != nil {
					return &exitCodeError{exitError, fmt.Errorf("report: %w", err)}
				}
				if isBenchResult(data) {
					// What kind of document it is decides how to read it.
					if len(args) > 1 {
						return &exitCodeError{exitError, fmt.Errorf("report: %s is a bench result: render it on its own (hookrig bench merge merges shards)", label)}
					}
					return renderSavedBench(e, data, label, f, out)
				}
				if report.IsSweep(data) {
					if len(args) > 1 {
						return &exitCodeError{exitError, fmt.Errorf("report: %s is a sweep over seeds (hookrig sim --seeds): render it on its own", label)}
					}
					return renderSweep(e, data, label, f, out)
				}
				r, err := report.ReadJSON(data, label)
				if err != nil {
					return &exitCodeError{exitError, fmt.Errorf("report: %w", err)}
				}
				results = append(results, r)
			}
			r := results[0]
			if len(results) > 1 {
				if r, err = verdict.Merge(results...); err != nil {
					return &exitCodeError{exitError, fmt.Errorf("report: %w", err)}
				}
			}
			if err := writeReport(e, r, f, out); err != nil {
				return &exitCodeError{exitError, fmt.Errorf("report: %w", err)}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&format, "report", "r", string(report.Text), "report format: text, json, junit or html")
	fl.StringVarP(&out, "out", "o", "", "write the report to `FILE` instead of stdout")
	alias(fl, e.stderr, "format", "f", "report")
	return cmd
}

// maxResultSize bounds a result file: a real one is tens of KB.
const maxResultSize = 64 << 20

// renderSavedBench re-renders a saved bench result (its thresholds were
// the command line's and are not saved: the JUnit has one testcase).
func renderSavedBench(e *env, data []byte, label string, f report.Format, out string) error {
	var r loadgen.Result
	if err := json.Unmarshal(data, &r); err != nil {
		return &exitCodeError{exitError, fmt.Errorf("report: %s: %v", label, err)}
	}
	var buf bytes.Buffer
	if err := renderBench(&buf, &r, nil, nil, f); err != nil {
		return &exitCodeError{exitError, fmt.Errorf("report: %s: %w", label, err)}
	}
	if err := writeOutput(e, buf.Bytes(), out); err != nil {
		return &exitCodeError{exitError, fmt.Errorf("report: %w", err)}
	}
	return nil
}

// renderSweep re-renders a saved sweep (text, json or junit).
func renderSweep(e *env, data []byte, label string, f report.Format, out string) error {
	r, err := report.ReadSweepJSON(data, label)
	if err != nil {
		return &exitCodeError{exitError, fmt.Errorf("report: %w", err)}
	}
	var buf bytes.Buffer
	if err := report.RenderSweep(&buf, r, f); err != nil {
		return &exitCodeError{exitError, fmt.Errorf("report: %s: %w", label, err)}
	}
	if err := writeOutput(e, buf.Bytes(), out); err != nil {
		return &exitCodeError{exitError, fmt.Errorf("report: %w", err)}
	}
	return nil
}

// readSaved reads one saved result or sweep ("-" is stdin), bounded in
// size; it returns the bytes and the name to use in messages.
func readSaved(e *env, name string) ([]byte, string, error) {
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
		return nil, name, err
	}
	if len(data) > maxResultSize {
		return nil, name, fmt.Errorf("%s: over %d MB: not a hookrig result", name, maxResultSize>>20)
	}
	return data, name, nil
}

// writeReport renders r in format f to stdout, or to the file out. The
// file is written whole or not at all: a failed render leaves no half
// report behind (and no earlier report overwritten).
func writeReport(e *env, r *verdict.Result, f report.Format, out string) error {
	var buf bytes.Buffer
	if err := report.Render(&buf, r, f); err != nil {
		return err
	}
	return writeOutput(e, buf.Bytes(), out)
}

// writeOutput writes b to stdout, or whole to the file out (through a
// temporary file renamed into place).
func writeOutput(e *env, b []byte, out string) error {
	if out == "" || out == "-" {
		_, err := e.stdout.Write(b)
		return err
	}
	if err := writeFile(b, out); err != nil {
		// The path the user gave, never the temporary file's name.
		return fmt.Errorf("%s: %v", out, pathErr(err))
	}
	return nil
}

func writeFile(b []byte, out string) error {
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
