package scenarios

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/hookrig/hookrig/internal/yamlnode"
)

// decoder fills the raw scenario types from a YAML document as go-yaml's
// strict mode would (unknown keys and wrong types are errors with a
// position), but keeps going after a problem: `scenarios validate` is to
// list every problem in a file, and go-yaml stops at the first, reporting
// a nested one before an earlier top-level one.
//
// Only the raw types' structure is walked here; each scalar is still
// decoded by go-yaml (through yamlnode, which turns its panics into
// errors), so what a value may be is go-yaml's decision, in one place.
type decoder struct {
	errs    Errors
	anchors map[string]ast.Node // &name → the node it names, for *name
}

// nodeDecoder is a raw type that decodes itself (a Field remembers where
// it was written, a phase where it starts, a rawNode keeps its subtree).
type nodeDecoder interface {
	decodeNode(d *decoder, n ast.Node, path string)
}

func newDecoder(doc ast.Node) *decoder {
	d := &decoder{anchors: map[string]ast.Node{}}
	ast.Walk(anchorCollector(d.anchors), doc)
	return d
}

// anchorCollector records every anchor in a document.
type anchorCollector map[string]ast.Node

func (a anchorCollector) Visit(n ast.Node) ast.Visitor {
	if an, ok := n.(*ast.AnchorNode); ok && an.Name != nil {
		a[an.Name.String()] = an.Value
	}
	return a
}

func (d *decoder) errorf(p Pos, format string, args ...any) {
	d.errs = append(d.errs, errorAt(p, format, args...))
}

// resolve looks through anchors and aliases to the node that holds the
// value.
func (d *decoder) resolve(n ast.Node) ast.Node {
	for i := 0; i < 16 && n != nil; i++ { // bounded: an alias may name itself
		switch a := n.(type) {
		case *ast.AnchorNode:
			n = a.Value
		case *ast.AliasNode:
			if a.Value == nil {
				return n
			}
			target, ok := d.anchors[a.Value.String()]
			if !ok {
				return n // go-yaml reports the unknown alias
			}
			n = target
		default:
			return n
		}
	}
	return n
}

func isNull(n ast.Node) bool {
	_, null := n.(*ast.NullNode)
	return n == nil || null
}

var durationType = reflect.TypeFor[time.Duration]()

// decode fills v (addressable) from n; path is where v sits in the file,
// in the words of the messages ("load.phases[0]").
func (d *decoder) decode(n ast.Node, v reflect.Value, path string) {
	n = d.resolve(n)
	if isNull(n) {
		return // as go-yaml: an empty value leaves the zero value
	}
	if nd, ok := v.Addr().Interface().(nodeDecoder); ok {
		nd.decodeNode(d, n, path)
		return
	}
	if _, tagged := n.(*ast.TagNode); tagged {
		d.scalar(n, v, path) // go-yaml's own reading of tags
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.mapping(n, v, path)
	case reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			d.errorf(posOf(n), "%s: got %s, expected a list (one item a line, each starting with \"- \")", path, nodeWords(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(seq.Values), len(seq.Values))
		for i, item := range seq.Values {
			d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Bool, reflect.Int, reflect.Int64, reflect.Uint64, reflect.Float64, reflect.String:
		_, float := n.(*ast.FloatNode)
		whole := v.Kind() == reflect.Int || v.Kind() == reflect.Uint64 || v.Kind() == reflect.Int64 && v.Type() != durationType
		switch n.(type) {
		case *ast.MappingNode, *ast.SequenceNode:
			d.errorf(posOf(n), "%s: got %s, expected %s", path, nodeWords(n), typeWords(v.Type().String()))
			return
		}
		if float && whole { // go-yaml would drop the fraction
			d.errorf(posOf(n), "%s: got %s, expected %s", path, nodeWords(n), typeWords(v.Type().String()))
			return
		}
		d.scalar(n, v, path)
	default:
		d.scalar(n, v, path)
	}
}

// scalar has go-yaml decode one value, placing its error here when it
// says no place itself.
func (d *decoder) scalar(n ast.Node, v reflect.Value, path string) {
	err := yamlnode.Decode(n, v.Addr().Interface(), yaml.Strict())
	if err == nil {
		return
	}
	e := fromYAMLAt(err, posOf(n))
	if v.Type() == durationType && !strings.Contains(e.Msg, "expected") {
		// time.ParseDuration's "time: invalid duration" says neither the
		// field nor the form.
		e.Msg = fmt.Sprintf("%s: %s; expected a duration such as 250ms, 30s or 1m30s", path, strings.TrimPrefix(e.Msg, "time: "))
	} else if path != "" && !strings.HasPrefix(e.Msg, "unreadable") {
		e.Msg = path + ": " + e.Msg
	}
	d.errs = append(d.errs, e)
}

// mapping fills a struct from a mapping, key by key, reporting each
// unknown key and going on with the rest.
func (d *decoder) mapping(n ast.Node, v reflect.Value, path string) {
	m, ok := n.(*ast.MappingNode)
	if !ok {
		d.errorf(posOf(n), "%s: got %s, expected a mapping (%s)", orTop(path), nodeWords(n), strings.Join(keysOf(v.Type()), ", "))
		return
	}
	fields := map[string]int{}
	for i := range v.NumField() {
		if name := yamlName(v.Type().Field(i)); name != "" {
			fields[name] = i
		}
	}
	// A key written twice never gets here: the YAML parser refuses it.
	for _, kv := range d.pairs(m) {
		key := keyText(kv.Key)
		i, known := fields[key]
		if !known {
			d.errorf(posOf(kv.Key), "unknown field %q in %s; expected %s%s", key, orTop(path), strings.Join(keysOf(v.Type()), ", "), suggest(key, keysOf(v.Type())))
			continue
		}
		d.decode(kv.Value, v.Field(i), join(path, key))
	}
}

// pairs lists a mapping's keys with merged ones (`<<: *base`) first, so
// the keys written here override them, as YAML says.
func (d *decoder) pairs(m *ast.MappingNode) []*ast.MappingValueNode {
	var merged, own []*ast.MappingValueNode
	for _, kv := range m.Values {
		if _, isMerge := kv.Key.(*ast.MergeKeyNode); !isMerge {
			own = append(own, kv)
			continue
		}
		var sources []ast.Node
		switch src := d.resolve(kv.Value).(type) {
		case *ast.MappingNode:
			sources = []ast.Node{src}
		case *ast.SequenceNode: // <<: [*a, *b]
			sources = src.Values
		}
		for _, s := range sources {
			if sm, ok := d.resolve(s).(*ast.MappingNode); ok {
				merged = append(merged, d.pairs(sm)...)
			}
		}
	}
	return append(merged, own...)
}

func keyText(k ast.MapKeyNode) string {
	if s, ok := k.(*ast.StringNode); ok {
		return s.Value
	}
	return strings.TrimSpace(k.String())
}

func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

// keysOf lists the keys a raw type takes, in the order it declares them.
func keysOf(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}

// suggest names the known key closest to a misspelt one.
func suggest(key string, known []string) string {
	best, bestD := "", 3 // more than two edits away is another word
	for _, k := range known {
		if dist := editDistance(key, k); dist < bestD {
			best, bestD = k, dist
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between two short keys.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// nodeWords says what a YAML node is, for "got ..., expected ...".
func nodeWords(n ast.Node) string {
	switch n := n.(type) {
	case *ast.MappingNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode:
		return fmt.Sprintf("the string %q", n.Value)
	case ast.ScalarNode:
		return strings.TrimSpace(n.String())
	}
	return "something else"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orTop(path string) string {
	if path == "" {
		return "the scenario"
	}
	return path
}

// decodeNode records where the value was written and decodes it.
func (f *Field[T]) decodeNode(d *decoder, n ast.Node, path string) {
	f.Pos = posOf(n)
	f.Set = true
	d.decode(n, reflect.ValueOf(&f.V).Elem(), path)
}

// sortErrors puts problems in file order, drops exact repeats, and drops a
// follow-on problem at the place of a problem the decoder found there (a
// bad duration is not also "not a positive duration").
func sortErrors(errs Errors, decoded int) Errors {
	at := map[Pos]bool{}
	for _, e := range errs[:decoded] {
		at[e.Pos] = true
	}
	kept := errs[:decoded:decoded]
	for _, e := range errs[decoded:] {
		if !at[e.Pos] {
			kept = append(kept, e)
		}
	}
	sort.SliceStable(kept, func(i, j int) bool {
		a, b := kept[i].Pos, kept[j].Pos
		return a.Line < b.Line || (a.Line == b.Line && a.Col < b.Col)
	})
	out := kept[:0]
	for i, e := range kept {
		if i > 0 && e.Pos == kept[i-1].Pos && e.Msg == kept[i-1].Msg {
			continue
		}
		out = append(out, e)
	}
	return out
}
