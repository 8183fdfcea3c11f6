package fault

import (
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/expr-lang/expr/ast"
)

// bodyUse is what a compiled match needs from the request body: nothing,
// some top-level fields by constant name (body.type, body["data"].amount),
// or the whole parsed object (any other use of body). It also notes the
// one other field that costs something to fill in: endpoint, whose name
// GROUP-N is built (an allocation) only for a match that names it.
type bodyUse struct {
	any      bool
	whole    bool
	keys     []string
	endpoint bool // the match names endpoint (or $env, which holds it)
}

// Visit counts body's uses; members with a constant key are counted in
// keys, and a use of body that is not one of those makes it whole.
func (u *bodyUse) Visit(n *ast.Node) {
	switch v := (*n).(type) {
	case *ast.IdentifierNode:
		switch v.Value {
		case "body":
			u.any = true
		case "endpoint", "$env":
			u.endpoint = true
		}
	case *ast.MemberNode:
		if id, ok := v.Node.(*ast.IdentifierNode); ok && id.Value == "body" {
			if s, ok := v.Property.(*ast.StringNode); ok {
				if !slices.Contains(u.keys, s.Value) {
					u.keys = append(u.keys, s.Value)
				}
				return
			}
			u.whole = true
		}
	}
}

// scan walks a compiled expression; body identifiers reached other than
// through a constant member make the use whole.
func (u *bodyUse) scan(node ast.Node) {
	ast.Walk(&node, u)
	members, idents := 0, 0
	counter := visitorFunc(func(n *ast.Node) {
		switch v := (*n).(type) {
		case *ast.IdentifierNode:
			if v.Value == "body" {
				idents++
			}
		case *ast.MemberNode:
			if id, ok := v.Node.(*ast.IdentifierNode); ok && id.Value == "body" {
				if _, ok := v.Property.(*ast.StringNode); ok {
					members++
				}
			}
		}
	})
	ast.Walk(&node, counter)
	if idents != members {
		u.whole = true
	}
}

type visitorFunc func(*ast.Node)

func (f visitorFunc) Visit(n *ast.Node) { f(n) }

// merge combines the needs of several rules.
func (u *bodyUse) merge(o bodyUse) {
	u.any = u.any || o.any
	u.whole = u.whole || o.whole
	u.endpoint = u.endpoint || o.endpoint
	for _, k := range o.keys {
		if !slices.Contains(u.keys, k) {
			u.keys = append(u.keys, k)
		}
	}
}

// parse reads what the rules need of body b. A body that is not a JSON
// object gives nil either way, so body.type is nil. When only some fields
// are needed, they go into reuse (emptied first) if it is not nil: the
// data path keeps one map per evaluator instead of making one per request.
func (u *bodyUse) parse(b []byte, reuse map[string]any) map[string]any {
	if u.whole {
		var m map[string]any
		if json.Unmarshal(b, &m) != nil {
			return nil
		}
		return m
	}
	clear(reuse)
	return bodyFieldsInto(b, u.keys, reuse)
}

// bodyFields decodes the values of keys from JSON object b and skips the
// others without decoding them: a rule on body.type should not pay for
// parsing the whole payload. Like json.Unmarshal into a map, a repeated
// key keeps its last value; unlike it, a malformed value under a key
// nobody asked for is only checked for structure.
func bodyFields(b []byte, keys []string) map[string]any { return bodyFieldsInto(b, keys, nil) }

// bodyFieldsInto is bodyFields filling m (an empty map, or nil for a new
// one).
func bodyFieldsInto(b []byte, keys []string, m map[string]any) map[string]any {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil
	}
	if m == nil {
		m = make(map[string]any, len(keys))
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return tail(b, i+1, m)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return nil
		}
		kend, ok := skipString(b, i)
		if !ok {
			return nil
		}
		rawKey := b[i:kend]
		i = skipSpace(b, kend)
		if i >= len(b) || b[i] != ':' {
			return nil
		}
		i = skipSpace(b, i+1)
		vend, ok := skipValue(b, i)
		if !ok {
			return nil
		}
		if k, wanted := wantedKey(rawKey, keys); wanted {
			v, ok := decodeValue(b[i:vend])
			if !ok {
				return nil
			}
			m[k] = v
		}
		i = skipSpace(b, vend)
		if i < len(b) && b[i] == '}' {
			return tail(b, i+1, m)
		}
		if i >= len(b) || b[i] != ',' {
			return nil
		}
		i = skipSpace(b, i+1)
	}
}

func tail(b []byte, i int, m map[string]any) map[string]any {
	if skipSpace(b, i) != len(b) {
		return nil
	}
	return m
}

func wantedKey(raw []byte, keys []string) (string, bool) {
	inner := raw[1 : len(raw)-1]
	if !slices.Contains(inner, '\\') && utf8.Valid(inner) {
		for _, k := range keys {
			if string(inner) == k { // no allocation: compared, not converted
				return k, true
			}
		}
		return "", false
	}
	var k string
	if json.Unmarshal(raw, &k) != nil {
		return "", false
	}
	return k, slices.Contains(keys, k)
}

// decodeValue decodes one JSON value the way json.Unmarshal into any does,
// with shortcuts for plain strings (no escapes, valid UTF-8: json.Unmarshal
// would replace bad bytes), numbers and literals.
func decodeValue(v []byte) (any, bool) {
	switch c := v[0]; {
	case c == '"' && !slices.Contains(v, '\\') && utf8.Valid(v):
		return string(v[1 : len(v)-1]), true
	case c == '-' || c >= '0' && c <= '9':
		f, err := strconv.ParseFloat(string(v), 64)
		return f, err == nil
	case string(v) == "true":
		return true, true
	case string(v) == "false":
		return false, true
	case string(v) == "null":
		return nil, true
	}
	var x any
	return x, json.Unmarshal(v, &x) == nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		default:
			if b[j] < 0x20 {
				return 0, false
			}
		}
	}
	return 0, false
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		var stack []byte
		for j := i; j < len(b); j++ {
			switch c := b[j]; c {
			case '"':
				end, ok := skipString(b, j)
				if !ok {
					return 0, false
				}
				j = end - 1
			case '{', '[':
				stack = append(stack, c)
			case '}', ']':
				if len(stack) == 0 || stack[len(stack)-1] != c-2 { // '{'+2 == '}', '['+2 == ']'
					return 0, false
				}
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					return j + 1, true
				}
			}
		}
		return 0, false
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	if j == i || !validLiteral(b[i:j]) {
		return 0, false
	}
	return j, true
}

// validLiteral checks a JSON number, true, false or null without decoding
// it.
func validLiteral(v []byte) bool {
	switch string(v) {
	case "true", "false", "null":
		return true
	}
	i := 0
	if i < len(v) && v[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i, n = i+1, n+1
		}
		return n
	}
	if i < len(v) && v[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(v) && v[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(v) && (v[i] == 'e' || v[i] == 'E') {
		i++
		if i < len(v) && (v[i] == '+' || v[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(v)
}
