package scenarios

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/hookrig/hookrig/chaos/fault"
)

// The built-in library: one YAML file per scenario, embedded in the
// binary, so `hookrig run NAME` needs nothing on disk and `hookrig
// scenarios show NAME` prints a file to copy and edit.
//
//go:embed library/*.yaml
var library embed.FS

// BuiltinPrefix marks a built-in scenario's File ("builtin:baseline").
const BuiltinPrefix = "builtin:"

// DefaultScenario is what `hookrig run` runs without an argument.
const DefaultScenario = "baseline"

// Entry is one built-in scenario in the library's listing.
type Entry struct {
	Name        string
	Description string
}

// Summary is the description's first line, for listings: built-in
// descriptions open with a one-line summary.
func (e Entry) Summary() string {
	line, _, _ := strings.Cut(strings.TrimSpace(e.Description), "\n")
	return line
}

// List returns every built-in scenario, by name.
func List() ([]Entry, error) {
	names, err := builtinNames()
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(names))
	for _, n := range names {
		s, err := Builtin(n)
		if err != nil {
			return nil, err
		}
		out = append(out, Entry{Name: s.Name, Description: s.Description})
	}
	return out, nil
}

func builtinNames() ([]string, error) {
	files, err := fs.Glob(library, "library/*.yaml")
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for _, f := range files {
		names = append(names, strings.TrimSuffix(path.Base(f), ".yaml"))
	}
	slices.Sort(names)
	return names, nil
}

// BuiltinSource returns a built-in scenario's YAML, as embedded.
func BuiltinSource(name string) ([]byte, error) {
	if name == "" || strings.ContainsAny(name, "/\\*?[") {
		return nil, unknownBuiltin(name)
	}
	b, err := library.ReadFile("library/" + name + ".yaml")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, unknownBuiltin(name)
	}
	return b, err
}

// Builtin parses a built-in scenario.
func Builtin(name string) (*Scenario, error) {
	src, err := BuiltinSource(name)
	if err != nil {
		return nil, err
	}
	return Parse(src, BuiltinPrefix+name)
}

func unknownBuiltin(name string) error {
	names, _ := builtinNames()
	return fmt.Errorf("no built-in scenario %q; the built-ins are: %s (or give a scenario file)", name, strings.Join(names, ", "))
}

// Open reads a scenario given by name or file: an existing file, or a
// path (anything with a slash or a .yaml/.yml ending), is read from disk;
// any other word names a built-in scenario.
func Open(nameOrFile string) (*Scenario, error) { return OpenWith(nameOrFile, nil) }

// isFile says whether Open reads nameOrFile from disk: an existing file, or
// anything that looks like a path (a slash, a .yaml or .yml ending).
func isFile(nameOrFile string) bool {
	if st, err := os.Stat(nameOrFile); err == nil && !st.IsDir() {
		return true
	}
	return strings.ContainsAny(nameOrFile, `/\`) ||
		strings.HasSuffix(nameOrFile, ".yaml") || strings.HasSuffix(nameOrFile, ".yml")
}

// Shortened returns a copy of s whose timeline runs f times as long (f <
// 1 shortens it): load phases, fault windows and sender crashes. Rates,
// the delivery policy and the drain timeout are kept, so a shortened
// scenario sends fewer events through the same machinery; tests use it
// to run the built-ins quickly. Pacers with durations of their own
// (linear ramps with @OVER, steps, sine periods) keep them.
func (s *Scenario) Shortened(f float64) *Scenario {
	scale := func(d time.Duration) time.Duration { return time.Duration(float64(d) * f).Round(time.Millisecond) }
	out := *s
	out.Load.Phases = slices.Clone(s.Load.Phases)
	for i := range out.Load.Phases {
		p := &out.Load.Phases[i]
		p.Start, p.Duration = scale(p.Start), scale(p.Duration)
	}
	scaleFaults := func(fs []Fault) []Fault {
		fs = slices.Clone(fs)
		for i := range fs {
			ft := &fs[i]
			ft.After, ft.For = scale(ft.After), scale(ft.For)
			ft.Rule.After, ft.Rule.For = fault.Duration(scale(ft.Rule.After.D())), fault.Duration(scale(ft.Rule.For.D()))
		}
		return fs
	}
	out.Faults = scaleFaults(s.Faults)
	out.Endpoints.Groups = slices.Clone(s.Endpoints.Groups)
	for i := range out.Endpoints.Groups {
		g := &out.Endpoints.Groups[i]
		g.Faults = scaleFaults(g.Faults)
	}
	out.Sender.Crashes = slices.Clone(s.Sender.Crashes)
	for i := range out.Sender.Crashes {
		c := &out.Sender.Crashes[i]
		c.At, c.Down = scale(c.At), scale(c.Down)
	}
	return &out
}
