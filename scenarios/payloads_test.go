package scenarios

import (
	"strings"
	"testing"
)

// load.payloads.capture names a capture file; it cannot be empty, and
// padding does not apply to captured bodies.
func TestLoadPayloadsCapture(t *testing.T) {
	base := "name: cap\nload:\n  phases:\n    - {pacer: constant:10, duration: 1s}\n"
	s, err := Parse([]byte(base+"  payloads: {capture: provider.jsonl}\n"), "s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Load.Payloads.Capture != "provider.jsonl" {
		t.Errorf("payloads.capture %q, want provider.jsonl", s.Load.Payloads.Capture)
	}
	for src, want := range map[string]string{
		base + "  payloads: {capture: \"\"}\n":                        "s.yaml:5:23: load.payloads.capture: missing; expected the path of a capture file",
		base + "  payloads: {}\n":                                     "load.payloads.capture: missing",
		base + "  payloads: {capture: a.jsonl}\n  payload_bytes: 9\n": "s.yaml:6:18: load.payload_bytes pads the default template",
		base + "  payloads: {captures: a.jsonl}\n":                    `unknown field "captures"`,
	} {
		_, err := Parse([]byte(src), "s.yaml")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want it to contain %q", src, err, want)
		}
	}
}
