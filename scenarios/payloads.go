package scenarios

import "strings"

// Payloads says where the load's event bodies come from. The zero value:
// the default template, padded to PayloadBytes.
type Payloads struct {
	// Capture is a capture file (hookrig receiver --capture FILE): its
	// bodies are sent in turn, exactly as captured, so a team load-tests
	// with its provider's real payloads. A relative path is relative to
	// the working directory of the run. The file is read when the run
	// starts, not when the scenario is parsed.
	Capture string
}

type rawPayloads struct {
	Capture Field[string] `yaml:"capture"`
}

// payloads checks load.payloads: {capture: FILE}.
func (b *builder) payloads(raw *rawLoad, l *Load) {
	p := raw.Payloads
	if p == nil {
		return
	}
	if !p.Capture.Set || strings.TrimSpace(p.Capture.V) == "" {
		b.errorf(p.Capture.Pos, "load.payloads.capture: missing; expected the path of a capture file (hookrig receiver --capture FILE)")
		return
	}
	if raw.PayloadBytes.Set {
		b.errorf(raw.PayloadBytes.Pos, "load.payload_bytes pads the default template; captured bodies (load.payloads.capture) are sent as they are")
	}
	l.Payloads.Capture = strings.TrimSpace(p.Capture.V)
}
