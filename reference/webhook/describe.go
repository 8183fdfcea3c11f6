package webhook

import (
	"slices"
	"strings"
	"time"
)

// Description is what the wiring needs to know about a scheme beyond
// signing and verifying: which headers a sender must not let a user
// override, and which replay checks apply (the conformance checks skip the
// rest, saying why).
type Description struct {
	Name string
	// Headers lists every header Sign writes, canonical and sorted.
	Headers []string
	// IDFrom, TimestampHeader and Tolerance are the scheme's own.
	IDFrom          IDSource
	TimestampHeader string
	Tolerance       time.Duration
	// SignsID reports whether changing the event id breaks the signature
	// (standard and svix sign it; stripe's is in the signed body). False
	// for github, shopify and convoy, whose id headers anyone can rewrite,
	// and for slack, which has no id.
	SignsID bool
}

// probeHeaders is the HeaderSetter and HeaderGetter Describe signs into; a
// map with canonical keys, as http.Header, without importing net/http.
type probeHeaders map[string]string

func (p probeHeaders) Set(k, v string)     { p[canonicalKey(k)] = v }
func (p probeHeaders) Get(k string) string { return p[canonicalKey(k)] }

// Describe derives a Description by signing a probe message and then
// tampering with its id, so a new scheme cannot state its properties
// wrongly.
func Describe(s Scheme) Description {
	const probeID = "hookrig-probe-id"
	at := time.Unix(1700000000, 0)
	body := []byte(`{"id":"` + probeID + `"}`)
	h := probeHeaders{}
	s.Sign(h, probeID, at, body)
	d := Description{Name: s.Name(), IDFrom: s.IDFrom(), TimestampHeader: s.TimestampHeader(), Tolerance: s.Tolerance()}
	for k := range h {
		d.Headers = append(d.Headers, k)
	}
	slices.Sort(d.Headers)

	src := s.IDFrom()
	switch {
	case src.Header != "":
		h.Set(src.Header, probeID+"-changed")
	case src.JSONPath != "":
		// The probe body keeps the id at "id"; a scheme reading it
		// elsewhere would fail the probe, which the tests would catch.
		body = []byte(strings.Replace(string(body), probeID, probeID+"-changed", 1))
	default:
		return d // no id: nothing to sign
	}
	_, err := s.Verify(h, body, at)
	d.SignsID = FailureOf(err) == Mismatch
	return d
}
