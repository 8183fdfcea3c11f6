package webhook

import "time"

// Stripe: Stripe-Signature is "t=<unix seconds>,v1=<hex>[,v1=<hex>...]",
// each v1 the hex HMAC-SHA256 of "<t>.<body>" keyed by the endpoint secret's
// bytes, the whole "whsec_..." string as written (not base64-decoded). While
// a secret is rolled Stripe sends one v1 per active secret; v0 (test mode's
// legacy scheme) is ignored. The event id is the body's "id" field, so it is
// signed with the body. Stripe's libraries refuse only timestamps older than
// the tolerance (300 s by default); hookrig also refuses ones further ahead,
// as Standard Webhooks does, so a clock error shows up as Future.
// Sources: https://docs.stripe.com/webhooks#verify-manually (header layout,
// signed_payload = timestamp + "." + payload, v1 only) and the stripe gem's
// compute_signature, OpenSSL::HMAC.hexdigest(SHA256, secret,
// "#{timestamp}.#{payload}") (https://www.rubydoc.info/gems/stripe/Stripe/Webhook/Signature).
const StripeSignatureHeader = "Stripe-Signature"

type stripeScheme struct {
	keys      [][]byte
	tolerance time.Duration
}

func newStripeScheme(o Options) (Scheme, error) {
	keys, err := rawKeys("stripe", o.Secrets)
	if err != nil {
		return nil, err
	}
	return &stripeScheme{keys: keys, tolerance: o.Tolerance}, nil
}

func (*stripeScheme) Name() string               { return "stripe" }
func (*stripeScheme) IDFrom() IDSource           { return IDInJSON("id") }
func (*stripeScheme) TimestampHeader() string    { return StripeSignatureHeader }
func (s *stripeScheme) Tolerance() time.Duration { return s.tolerance }

// stripeLayout: "t=<ts>,v1=<hex>", signed "<ts>.<body>".
var stripeLayout = tvLayout{scheme: "stripe", header: StripeSignatureHeader, sep: "."}

// Sign writes one v1 per secret. The id is not written: Stripe's id is the
// body's "id", which the caller puts into the body it passes.
func (s *stripeScheme) Sign(h HeaderSetter, _ string, at time.Time, body []byte) {
	h.Set(StripeSignatureHeader, stripeLayout.sign(s.keys, at, body))
}

func (s *stripeScheme) Verify(h HeaderGetter, body []byte, now time.Time) (Verified, error) {
	v, err := required("stripe", h, StripeSignatureHeader)
	if err != nil {
		return Verified{}, err
	}
	at, err := stripeLayout.verify(s.keys, v[0], body, now, s.tolerance)
	if err != nil {
		return Verified{}, err
	}
	// The id is read after the signature: it is only trusted once signed.
	id, err := s.IDFrom().extract("stripe", h, body)
	if err != nil {
		return Verified{}, err
	}
	return Verified{ID: id, Timestamp: at}, nil
}
