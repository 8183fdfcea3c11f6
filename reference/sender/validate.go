package sender

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/hookrig/hookrig/reference/webhook"
)

// Limits on what a client may send. They keep records and headers small
// enough for bbolt keys and for any HTTP server on the receiving side.
const (
	MaxIDLen   = 255
	MaxTypeLen = 255
	MaxKeyLen  = 255
	MaxBatch   = 10_000
	MaxURLLen  = 2048
)

// checkEndpointURL accepts an absolute http or https URL with a host.
func checkEndpointURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", invalid("url: required (e.g. \"http://127.0.0.1:8080/webhooks\")")
	}
	if len(raw) > MaxURLLen {
		return "", invalid("url: %d bytes is over the limit of %d", len(raw), MaxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", invalid("url: %q is not a URL: %v", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", invalid("url: %q: scheme must be http or https", raw)
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", invalid("url: %q has no host", raw)
	}
	if u.Fragment != "" {
		return "", invalid("url: %q: a fragment (#...) is never sent; remove it", raw)
	}
	return u.String(), nil
}

// checkSecret normalises a secret to its whsec_ form, or makes one.
func checkSecret(raw string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return NewSecret(), nil
	}
	sec, err := webhook.ParseSecret(raw)
	if err != nil {
		return "", invalid("secret: %v", err)
	}
	return sec.String(), nil
}

// checkEventID accepts what can travel in a webhook-id header.
func checkEventID(id string) error {
	if len(id) > MaxIDLen {
		return fmt.Errorf("id: %d bytes is over the limit of %d", len(id), MaxIDLen)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("id: %q: byte %d is not printable ASCII (ids travel in the webhook-id header)", id, i)
		}
	}
	return nil
}

// checkEvent validates what can be checked without the outbox.
func checkEvent(e *EventSpec) error {
	if e.ID != "" {
		if err := checkEventID(e.ID); err != nil {
			return err
		}
	}
	switch {
	case e.Endpoint == "":
		return fmt.Errorf("endpoint: required (an id from POST /v1/endpoints)")
	case e.Type == "":
		return fmt.Errorf("type: required (e.g. \"invoice.paid\")")
	case len(e.Type) > MaxTypeLen:
		return fmt.Errorf("type: %d bytes is over the limit of %d", len(e.Type), MaxTypeLen)
	case len(e.Key) > MaxKeyLen:
		return fmt.Errorf("key: %d bytes is over the limit of %d", len(e.Key), MaxKeyLen)
	case len(e.Payload) == 0 || string(e.Payload) == "null":
		return fmt.Errorf("payload: required (the JSON body to send)")
	case !json.Valid(e.Payload):
		return fmt.Errorf("payload: not valid JSON")
	}
	return nil
}
