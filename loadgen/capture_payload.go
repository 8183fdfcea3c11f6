package loadgen

import (
	"fmt"

	"github.com/hookrig/hookrig/internal/capture"
)

// CapturePayload sends the bodies of captured requests (hookrig receiver
// --capture), exactly as captured, in turn: event n gets body n modulo
// their number, so a load test carries a provider's real payloads. Only
// the bodies are taken: ids, timestamps and signatures are the run's own.
// Requests whose body was not captured whole are left out.
func CapturePayload(name string, reqs []*capture.Request) (*Payload, error) {
	p := &Payload{name: name, kind: capturedBodies, padAt: -1}
	for _, r := range reqs {
		if r.Whole() {
			p.bodies = append(p.bodies, r.Body)
		}
	}
	if len(p.bodies) == 0 {
		return nil, fmt.Errorf("%s: no request in the capture has its whole body (each was over the receiver's limit)", name)
	}
	return p, nil
}

// LoadCapturePayload reads a capture file and returns CapturePayload of it.
func LoadCapturePayload(path string) (*Payload, error) {
	reqs, err := capture.Load(path)
	if err != nil {
		return nil, err
	}
	return CapturePayload(path, reqs)
}
