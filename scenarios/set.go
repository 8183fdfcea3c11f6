package scenarios

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
)

// Set is one override of a scenario file's value from the command line
// (`--set sender.policy.max_attempts=4`): the way to try a variation of a
// scenario — another retry limit, fault probability or drain — without
// copying the file.
type Set struct {
	// Path is the keys from the top of the file down; a list item is its
	// index ("faults.0.probability", or "faults[0].probability").
	Path []string
	// Value is the new value, read as YAML: 4 is a number, 10s and
	// constant:100 strings, true a boolean, [a, b] a list.
	Value any
	// Text is the override as it was given.
	Text string
}

// ParseSet reads "PATH=VALUE".
func ParseSet(text string) (Set, error) {
	path, value, ok := strings.Cut(text, "=")
	path = strings.TrimSpace(path)
	if !ok || path == "" {
		return Set{}, fmt.Errorf("--set %q: expected PATH=VALUE, e.g. sender.policy.max_attempts=4", text)
	}
	keys := strings.Split(strings.NewReplacer("[", ".", "]", "").Replace(path), ".")
	for _, k := range keys {
		if k == "" {
			return Set{}, fmt.Errorf("--set %q: empty key in %q", text, path)
		}
	}
	s := Set{Path: keys, Text: text, Value: value}
	var v any
	if err := yaml.UnmarshalWithOptions([]byte(value), &v, yaml.UseOrderedMap()); err == nil {
		s.Value = v
	}
	return s, nil
}

// OpenWith is Open with overrides applied. The file is checked as written
// first, so its own mistakes keep their line and column; then the
// overrides are applied and the result checked again (its errors name the
// overrides, as their positions are no longer in the file).
func OpenWith(nameOrFile string, sets []Set) (*Scenario, error) {
	if nameOrFile == "" {
		nameOrFile = DefaultScenario
	}
	src, label, err := source(nameOrFile)
	if err != nil {
		return nil, err
	}
	s, err := Parse(src, label)
	if err != nil || len(sets) == 0 {
		return s, err
	}
	out, err := applySets(src, sets)
	if err != nil {
		return nil, err
	}
	texts := make([]string, len(sets))
	for i, st := range sets {
		texts[i] = "--set " + st.Text
	}
	s2, err := Parse(out, label+" with "+strings.Join(texts, " "))
	if err != nil {
		return nil, err
	}
	s2.File = s.File
	return s2, nil
}

// source reads a scenario's YAML as Open finds it, and the name its
// positions are given under.
func source(nameOrFile string) ([]byte, string, error) {
	if isFile(nameOrFile) {
		b, err := os.ReadFile(nameOrFile)
		return b, nameOrFile, err
	}
	b, err := BuiltinSource(nameOrFile)
	return b, BuiltinPrefix + nameOrFile, err
}

// applySets returns the YAML document src with each override applied, in
// order; a missing key is added (with the mappings above it), a list
// index must exist.
func applySets(src []byte, sets []Set) ([]byte, error) {
	var doc any
	if err := yaml.UnmarshalWithOptions(src, &doc, yaml.UseOrderedMap()); err != nil {
		return nil, err
	}
	for _, s := range sets {
		var err error
		if doc, err = setIn(doc, s.Path, s.Value, ""); err != nil {
			return nil, fmt.Errorf("--set %s: %w", s.Text, err)
		}
	}
	return yaml.Marshal(doc)
}

// setIn puts value at path below node (which is at the path done).
func setIn(node any, path []string, value any, done string) (any, error) {
	if len(path) == 0 {
		return value, nil
	}
	key, rest := path[0], path[1:]
	here := key
	if done != "" {
		here = done + "." + key
	}
	switch n := node.(type) {
	case nil:
		if _, err := strconv.Atoi(key); err == nil {
			return nil, fmt.Errorf("%s: there is no list to index", here)
		}
		v, err := setIn(nil, rest, value, here)
		return yaml.MapSlice{{Key: key, Value: v}}, err
	case yaml.MapSlice:
		for i := range n {
			if fmt.Sprint(n[i].Key) == key {
				v, err := setIn(n[i].Value, rest, value, here)
				n[i].Value = v
				return n, err
			}
		}
		v, err := setIn(nil, rest, value, here)
		return append(n, yaml.MapItem{Key: key, Value: v}), err
	case []any:
		i, err := strconv.Atoi(key)
		if err != nil || i < 0 || i >= len(n) {
			return nil, fmt.Errorf("%s: %s is a list of %d; give an index from 0 to %d", here, done, len(n), len(n)-1)
		}
		v, err := setIn(n[i], rest, value, here)
		n[i] = v
		return n, err
	}
	return nil, fmt.Errorf("%s: %s is a single value (%v), not a mapping or a list", here, done, node)
}
