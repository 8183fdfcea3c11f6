package scenarios

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

// Pos is a place in a scenario file.
type Pos struct {
	Line, Col int
}

// orPos is p, or q where p is unknown.
func orPos(p, q Pos) Pos {
	if p.Line == 0 {
		return q
	}
	return p
}

func posOf(n ast.Node) Pos {
	// A mapping's own token is its first ':'; the place a reader looks
	// for is its first key.
	switch m := n.(type) {
	case *ast.MappingNode:
		if len(m.Values) > 0 {
			return posOf(m.Values[0].Key)
		}
	case *ast.MappingValueNode:
		return posOf(m.Key)
	}
	if n == nil || n.GetToken() == nil {
		return Pos{}
	}
	p := n.GetToken().Position
	return Pos{Line: p.Line, Col: p.Column}
}

// Error is one problem in a scenario file, at a position.
type Error struct {
	File string
	Pos  Pos
	Msg  string
}

func (e *Error) Error() string {
	file := e.File
	if file == "" {
		file = "scenario"
	}
	if e.Pos.Line == 0 {
		return fmt.Sprintf("%s: %s", file, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", file, e.Pos.Line, e.Pos.Col, e.Msg)
}

// Errors is every problem found in one file, in file order.
type Errors []*Error

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// errorAt is what the parsing code returns before the file name is known.
func errorAt(p Pos, format string, args ...any) *Error {
	return &Error{Pos: p, Msg: fmt.Sprintf(format, args...)}
}

// fromYAML turns a go-yaml error (which carries a token) or one of ours
// into an *Error.
func fromYAML(err error) *Error {
	var own *Error
	if errors.As(err, &own) {
		return own
	}
	var ye yaml.Error
	if errors.As(err, &ye) {
		p := Pos{}
		if tk := ye.GetToken(); tk != nil {
			p = Pos{Line: tk.Position.Line, Col: tk.Position.Column}
		}
		return &Error{Pos: p, Msg: cleanYAMLMessage(ye.GetMessage())}
	}
	// A panic caught by yamlnode, or another error without a position:
	// the caller knows where it was reading.
	return &Error{Msg: err.Error()}
}

// cleanYAMLMessage rewrites go-yaml's messages in the scenario's terms.
func cleanYAMLMessage(m string) string {
	m = strings.ReplaceAll(m, "time.Duration", "duration (e.g. 30s, 1m30s)")
	m = strings.ReplaceAll(m, "scenarios.", "")
	// "cannot unmarshal string into Go struct field rawScenario.Seed of
	// type uint64" names Go types; the position already says which field.
	if sub := typeMismatch.FindStringSubmatch(m); sub != nil {
		m = fmt.Sprintf("got a %s, expected %s", sub[1], typeWords(sub[2]))
	}
	// The parser's own words, with what to do about them.
	if sub := repeatedKey.FindStringSubmatch(m); sub != nil {
		m = fmt.Sprintf("%s is written twice in this mapping (first at line %s); keep one", sub[1], sub[2])
	}
	switch {
	case strings.Contains(m, "mapping value is not allowed in this context"):
		m += " (a key: value where none can be: check this line's indentation, or quote a value that holds \": \")"
	case strings.Contains(m, "found character '\t'"):
		m = "a tab: YAML indents with spaces only"
	}
	return m
}

var repeatedKey = regexp.MustCompile(`^mapping key "([^"]*)" already defined at \[(\d+):\d+\]`)

var typeMismatch = regexp.MustCompile(`cannot unmarshal (\S+) into Go (?:struct field \S+|value) of type (.+)$`)

// typeWords says a Go type in a scenario writer's words.
func typeWords(t string) string {
	switch t {
	case "uint64", "uint":
		return "a whole number (0 or more)"
	case "int", "int64":
		return "a whole number"
	case "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "time.Duration":
		return "a duration such as 250ms, 30s or 1m30s"
	}
	return t
}

// Field is a scalar that remembers where it was written, so validation
// that happens after parsing (a pacer spec, an expression) can still point
// at the line and column.
type Field[T any] struct {
	V   T
	Pos Pos
	Set bool
}

// MarshalYAML writes the bare value.
func (f Field[T]) MarshalYAML() (any, error) { return f.V, nil }
