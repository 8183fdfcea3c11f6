// Package yamlnode guards the calls into github.com/goccy/go-yaml that
// scenario files and chaos rules go through. The library panics on some
// malformed input (found by our FuzzParse: a tag on a value where a list
// is expected dereferences a nil sequence node in v1.19.2, open upstream
// as goccy/go-yaml#735); a file a user
// wrote must get an error, never a crash, so each call here turns a panic
// into an error.
package yamlnode

import (
	"fmt"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Decode is yaml.NodeToValue, with a panic in the decoder returned as an
// error (its position is the node's, for the caller to report).
func Decode(n ast.Node, v any, opts ...yaml.DecodeOption) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("unreadable YAML here (the YAML decoder failed: %v)", r)
		}
	}()
	return yaml.NodeToValue(n, v, opts...)
}

// Parse is parser.ParseBytes, with a panic in the parser returned as an
// error.
func Parse(data []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("unreadable YAML (the YAML parser failed: %v)", r)
		}
	}()
	return parser.ParseBytes(data, 0)
}
