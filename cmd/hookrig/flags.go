package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// One flag vocabulary across the subcommands (issue 11): --report FORMAT
// (-r), --out FILE (-o), -q/--quiet, -v/--verbose, sizes as 1MiB. Names a
// command used before are kept for one release as hidden aliases that
// print a one-line deprecation note.

// alias adds old (and its shorthand, "" for none) as a hidden,
// deprecated name of the flag now (same value). Using it prints "hookrig:
// --old is deprecated and will be removed: use --now" on w (stderr: a
// report on stdout stays clean).
func alias(f *pflag.FlagSet, w io.Writer, old, shorthand, now string) {
	nf := f.Lookup(now)
	note := fmt.Sprintf("hookrig: --%s is deprecated and will be removed: use --%s\n", old, now)
	f.AddFlag(&pflag.Flag{
		Name: old, Shorthand: shorthand, Value: deprecatedValue{nf.Value, w, note},
		DefValue: nf.DefValue, NoOptDefVal: nf.NoOptDefVal, Usage: nf.Usage, Hidden: true,
	})
}

// deprecatedValue is a flag's value under an old name: setting it says so.
type deprecatedValue struct {
	pflag.Value
	w    io.Writer
	note string
}

func (v deprecatedValue) Set(s string) error {
	fmt.Fprint(v.w, v.note)
	return v.Value.Set(s)
}

// flagError turns a flag's parse error into one line that names the flag,
// the value given and the form expected, instead of strconv's text.
func flagError(c *cobra.Command, err error) error {
	var iv *pflag.InvalidValueError
	if errors.As(err, &iv) {
		return fmt.Errorf("--%s %q: %s (see '%s --help')", iv.GetFlag().Name, iv.GetValue(), expectedForm(iv), c.CommandPath())
	}
	return fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())
}

// expectedForm says what a flag of its type takes.
func expectedForm(iv *pflag.InvalidValueError) string {
	switch iv.GetFlag().Value.Type() {
	case "uint64", "uint", "uint32":
		return "expected a whole number such as 7"
	case "int", "int64", "int32":
		return "expected a whole number such as 16"
	case "float64", "float32":
		return "expected a number such as 0.5"
	case "duration":
		return "expected a duration such as 500ms, 30s or 1m30s"
	case "bool":
		return "expected true or false"
	}
	// A Value of hookrig's own says it itself, perhaps after the value.
	return strings.TrimPrefix(iv.Unwrap().Error(), strconv.Quote(iv.GetValue())+": ")
}

// checkWritable says, before a run, whether the report can be written to
// out (a file that need not exist yet), so a mistyped path fails in
// seconds rather than after the run, with the path the user gave.
func checkWritable(flag, out string) error {
	if out == "" || out == "-" {
		return nil
	}
	if st, err := os.Stat(out); err == nil && st.IsDir() {
		return fmt.Errorf("--%s %s: is a directory; expected a file path", flag, out)
	}
	dir := filepath.Dir(out)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("--%s %s: the directory %s does not exist", flag, out, dir)
	case err != nil:
		return fmt.Errorf("--%s %s: %v", flag, out, pathErr(err))
	case !st.IsDir():
		return fmt.Errorf("--%s %s: %s is not a directory", flag, out, dir)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(out)+".*")
	if err != nil {
		return fmt.Errorf("--%s %s: cannot write in %s (%v)", flag, out, dir, pathErr(err))
	}
	tmp.Close()
	os.Remove(tmp.Name())
	return nil
}

// pathErr is the cause of a file error without the path in it (which may
// be an internal temporary file's).
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
