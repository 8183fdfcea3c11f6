package webhook

import (
	"strings"
	"time"
)

// Convoy, the open-source webhook gateway, signs X-Convoy-Signature in two
// ways (per endpoint), both keyed by the endpoint secret's bytes as written
// (a "whsec_..." secret is not decoded):
//   - convoy (advanced): "t=<unix seconds>,v1=<hex>[,v1=<hex>...]", each v1
//     the HMAC-SHA256 of "<t>,<body>" (a comma where Stripe has a dot), one
//     v1 per active secret while rolling;
//   - convoy-simple: the bare hex HMAC-SHA256 of the body, no timestamp.
//
// Convoy's projects may choose base64 instead of hex; Verify accepts either,
// Sign writes hex (the default). Convoy carries no id of the caller's: it
// sends X-Convoy-Event-ID (its own event id, the same on every retry) only
// when the project enables event-id trace headers, so Verify returns it when
// present and "" otherwise; a run joins by a payload field instead
// (--id-from json:...).
// Sources: https://getconvoy.io/docs/product-manual/signatures (header,
// simple and advanced forms), frain-dev/convoy pkg/signature/signature.go
// (signed payload ts + "," + body, hmac.New(fn, []byte(secret))) and its
// pkg/signature/testdata/signature-vectors.json (checked in scheme_test.go),
// and the AddEventIDTraceHeaders branch of frain-dev/convoy's delivery worker
// (X-Convoy-Event-ID).
const (
	ConvoySignatureHeader = "X-Convoy-Signature"
	ConvoyEventIDHeader   = "X-Convoy-Event-ID"
)

type convoyScheme struct {
	keys      [][]byte
	tolerance time.Duration
	advanced  bool
}

func newConvoyScheme(o Options) (Scheme, error) {
	keys, err := rawKeys("convoy", o.Secrets)
	if err != nil {
		return nil, err
	}
	return &convoyScheme{keys: keys, tolerance: o.Tolerance, advanced: true}, nil
}

func newConvoySimpleScheme(o Options) (Scheme, error) {
	keys, err := rawKeys("convoy-simple", o.Secrets)
	if err != nil {
		return nil, err
	}
	return &convoyScheme{keys: keys}, nil
}

func (s *convoyScheme) Name() string {
	if s.advanced {
		return "convoy"
	}
	return "convoy-simple"
}

func (*convoyScheme) IDFrom() IDSource { return IDInHeader(ConvoyEventIDHeader) }

func (s *convoyScheme) TimestampHeader() string {
	if s.advanced {
		return ConvoySignatureHeader
	}
	return ""
}

func (s *convoyScheme) Tolerance() time.Duration {
	if s.advanced {
		return s.tolerance
	}
	return 0
}

// convoyLayout: "t=<ts>,v1=<hex>", signed "<ts>,<body>".
var convoyLayout = tvLayout{scheme: "convoy", header: ConvoySignatureHeader, sep: ",", base64OK: true}

// Sign writes X-Convoy-Event-ID with the id, as Convoy does with trace
// headers on, and the signature: advanced with one v1 per secret, simple
// with the first secret.
func (s *convoyScheme) Sign(h HeaderSetter, id string, at time.Time, body []byte) {
	h.Set(ConvoyEventIDHeader, id)
	if s.advanced {
		h.Set(ConvoySignatureHeader, convoyLayout.sign(s.keys, at, body))
		return
	}
	h.Set(ConvoySignatureHeader, hexMAC(s.keys[0], body))
}

func (s *convoyScheme) Verify(h HeaderGetter, body []byte, now time.Time) (Verified, error) {
	name := s.Name()
	v, err := required(name, h, ConvoySignatureHeader)
	if err != nil {
		return Verified{}, err
	}
	// The event id header is optional (see above): absent means "".
	id := h.Get(ConvoyEventIDHeader)
	if s.advanced {
		at, err := convoyLayout.verify(s.keys, v[0], body, now, s.tolerance)
		if err != nil {
			return Verified{}, err
		}
		return Verified{ID: id, Timestamp: at}, nil
	}
	if !anyMatch(s.keys, []string{strings.TrimSpace(v[0])}, true, body) {
		return Verified{}, &VerifyError{Scheme: name, Failure: Mismatch, Field: ConvoySignatureHeader,
			Detail: "want the hex (or base64) HMAC-SHA256 of the body keyed by the secret's bytes"}
	}
	return Verified{ID: id}, nil
}
