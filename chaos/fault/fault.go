package fault

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/hookrig/hookrig/internal/strictjson"
)

// Fault is one kind of breakage with its parameters, decoded from a rule's
// "fault" object by its "type". Plan draws whatever the fault leaves to
// chance and says what happens on the wire; it must take all randomness
// from rnd and nothing from the clock.
type Fault interface {
	Type() string
	Plan(rnd *rand.Rand) Action
}

// preparer is implemented by faults whose parameters can be wrong or that
// precompute what Plan hands out; it runs once, when the rule is compiled.
type preparer interface {
	prepare() error
}

// catalogue maps a fault type to a constructor of its zero value. Each
// fault file adds itself in init (toxiproxy-style: adding a fault is adding
// a file), and nothing writes to it after package initialisation.
var catalogue = map[string]func() Fault{}

func register(name string, newFault func() Fault) {
	if _, dup := catalogue[name]; dup {
		panic("fault: " + name + " registered twice")
	}
	catalogue[name] = newFault
}

// Types lists the registered fault types, sorted.
func Types() []string {
	names := make([]string, 0, len(catalogue))
	for n := range catalogue {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Decode reads a fault object ({"type": "status", "code": 503, ...}):
// unknown types, unknown or mistyped parameters and invalid values are
// errors that say what was expected.
func Decode(raw json.RawMessage) (Fault, error) {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, fmt.Errorf("missing fault: want an object with a type (one of %s)", strings.Join(Types(), ", "))
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("fault: want an object such as {\"type\": \"status\", \"code\": 503}, got %s", raw)
	}
	var typ string
	if err := json.Unmarshal(fields["type"], &typ); err != nil || typ == "" {
		return nil, fmt.Errorf("fault: missing type (one of %s)", strings.Join(Types(), ", "))
	}
	newFault, ok := catalogue[typ]
	if !ok {
		return nil, fmt.Errorf("unknown fault type %q (known: %s)", typ, strings.Join(Types(), ", "))
	}
	delete(fields, "type")
	params, _ := json.Marshal(fields)
	f := newFault()
	if len(fields) > 0 {
		if err := strictjson.Unmarshal(params, f); err != nil {
			return nil, fmt.Errorf("fault %s: %v", typ, err)
		}
	}
	if p, ok := f.(preparer); ok {
		if err := p.prepare(); err != nil {
			return nil, fmt.Errorf("fault %s: %v", typ, err)
		}
	}
	return f, nil
}
