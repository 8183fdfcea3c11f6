package fault

import (
	"errors"
	"fmt"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/hookrig/hookrig/internal/yamlnode"
)

// ParseRules reads a rule file, YAML or JSON (JSON is read as YAML, so
// both report the same positions):
//
//	rules:
//	  - name: flaky
//	    match: method == "POST" && attempt < 3
//	    probability: 0.3
//	    fault: {type: status, code: 503, headers: {Retry-After: 1}}
//	    after: 10s
//	    for: 30s
//
// Errors say where: "rules.yaml:4:5: rule "flaky": unknown field "mtach"".
// filename only labels positions. Each RuleSpec's Pos is set, so Compile
// errors point into the file too. ParseRules checks the file's shape;
// Compile checks what the rules mean.
func ParseRules(data []byte, filename string) ([]RuleSpec, error) {
	body, err := parseDocument(data, filename)
	if err != nil {
		return nil, err
	}
	if body == nil {
		return nil, fmt.Errorf("%s: empty: want a document with a `rules:` list", filename)
	}
	values, err := mappingValues(body)
	if err != nil {
		return nil, fmt.Errorf("%s: want a mapping with a `rules:` list, got %s", position(filename, body), body.Type())
	}
	var list ast.Node
	for _, mv := range values {
		if key := mv.Key.GetToken().Value; key != "rules" {
			return nil, fmt.Errorf("%s: unknown field %q: the file holds a `rules:` list", position(filename, mv.Key), key)
		}
		list = mv.Value
	}
	if list == nil {
		return nil, fmt.Errorf("%s: missing `rules:` list", position(filename, body))
	}
	if _, null := list.(*ast.NullNode); null {
		return []RuleSpec{}, nil
	}
	seq, ok := list.(*ast.SequenceNode)
	if !ok {
		return nil, fmt.Errorf("%s: rules: want a list of rules, got %s", position(filename, list), list.Type())
	}
	specs := make([]RuleSpec, 0, len(seq.Values))
	for i, n := range seq.Values {
		s, err := decodeRule(n, filename, i)
		if err != nil {
			return nil, err
		}
		specs = append(specs, s)
	}
	return specs, nil
}

// ParseRule reads a single rule object (the body of POST /v1/rules), YAML
// or JSON.
func ParseRule(data []byte, filename string) (RuleSpec, error) {
	body, err := parseDocument(data, filename)
	if err != nil {
		return RuleSpec{}, err
	}
	if body == nil {
		return RuleSpec{}, fmt.Errorf("%s: empty: want a rule object", filename)
	}
	return decodeRule(body, filename, 0)
}

func parseDocument(data []byte, filename string) (ast.Node, error) {
	f, err := yamlnode.Parse(data)
	if err != nil {
		return nil, positioned(filename, err)
	}
	if len(f.Docs) == 0 {
		return nil, nil
	}
	if len(f.Docs) > 1 {
		return nil, fmt.Errorf("%s: %d YAML documents: want one", filename, len(f.Docs))
	}
	return f.Docs[0].Body, nil
}

func decodeRule(n ast.Node, filename string, i int) (RuleSpec, error) {
	pos := position(filename, n)
	name := mappingString(n, "name")
	var s RuleSpec
	if _, err := mappingValues(n); err != nil {
		return s, fmt.Errorf("%s: rules[%d]: want a rule object (name, match, probability, fault, after, for), got %s", pos, i, n.Type())
	}
	if err := yamlnode.Decode(n, &s, yaml.Strict(), yaml.UseJSONUnmarshaler()); err != nil {
		where := fmt.Sprintf("rule %q", name)
		if name == "" {
			where = fmt.Sprintf("rules[%d]", i)
		}
		var ye yaml.Error
		if errors.As(err, &ye) && ye.GetToken() != nil {
			p := ye.GetToken().Position
			return s, fmt.Errorf("%s:%d:%d: %s: %s", filename, p.Line, p.Column, where, ye.GetMessage())
		}
		// Our own decoders (durations) report no position: find the
		// field that holds the bad value.
		if field, at := badDuration(n); field != "" {
			return s, fmt.Errorf("%s: %s: %s: %v", position(filename, at), where, field, err)
		}
		return s, fmt.Errorf("%s: %s: %v", pos, where, err)
	}
	s.Pos = pos
	return s, nil
}

// badDuration finds the after/for value of rule n that does not parse.
func badDuration(n ast.Node) (string, ast.Node) {
	values, _ := mappingValues(n)
	for _, mv := range values {
		key := mv.Key.GetToken().Value
		if key != "after" && key != "for" || mv.Value == nil || mv.Value.GetToken() == nil {
			continue
		}
		if _, err := parseDuration(mv.Value.GetToken().Value); err != nil {
			return key, mv.Value
		}
	}
	return "", nil
}

// mappingValues returns a mapping's key/value pairs (goccy may represent a
// one-pair mapping as the pair itself).
func mappingValues(n ast.Node) ([]*ast.MappingValueNode, error) {
	switch m := n.(type) {
	case *ast.MappingNode:
		return m.Values, nil
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{m}, nil
	}
	return nil, errors.New("not a mapping")
}

// mappingString returns the scalar under key in mapping n, or "".
func mappingString(n ast.Node, key string) string {
	values, _ := mappingValues(n)
	for _, mv := range values {
		if mv.Key.GetToken().Value == key && mv.Value != nil && mv.Value.GetToken() != nil {
			return mv.Value.GetToken().Value
		}
	}
	return ""
}

// position is "file:line:col" of where n starts (a mapping starts at its
// first key, not at the ':' goccy keeps as its token).
func position(filename string, n ast.Node) string {
	if values, err := mappingValues(n); err == nil && len(values) > 0 {
		n = values[0].Key
	}
	t := n.GetToken()
	if t == nil || t.Position == nil {
		return filename
	}
	return fmt.Sprintf("%s:%d:%d", filename, t.Position.Line, t.Position.Column)
}

// positioned turns a goccy error into "file:line:col: message".
func positioned(filename string, err error) error {
	var ye yaml.Error
	if errors.As(err, &ye) && ye.GetToken() != nil && ye.GetToken().Position != nil {
		p := ye.GetToken().Position
		return fmt.Errorf("%s:%d:%d: %s", filename, p.Line, p.Column, strings.TrimSpace(ye.GetMessage()))
	}
	return fmt.Errorf("%s: %v", filename, err)
}
