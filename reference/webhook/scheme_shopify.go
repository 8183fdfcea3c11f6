package webhook

import "time"

// Shopify: X-Shopify-Hmac-Sha256 is the base64 HMAC-SHA256 of the raw body
// keyed by the app's client secret (its bytes); X-Shopify-Webhook-Id names
// the delivery. Shopify sends X-Shopify-Triggered-At but does not sign it, so
// there is no timestamp to check and a captured request replays for ever.
// Shopify's current guide names X-Shopify-Event-Id (one per event, shared by
// all subscriptions) for duplicate detection; a receiver that wants that
// passes --id-from header:X-Shopify-Event-Id.
// Sources: https://shopify.dev/docs/apps/build/webhooks/verify-deliveries
// ("base64-encoded HMAC signature in the X-Shopify-Hmac-SHA256 header,
// generated using your app's client secret and the raw request body") and
// https://shopify.dev/apps/build/webhooks/ignore-duplicates.
const (
	ShopifyHMACHeader      = "X-Shopify-Hmac-Sha256"
	ShopifyWebhookIDHeader = "X-Shopify-Webhook-Id"
)

type shopifyScheme struct{ keys [][]byte }

func newShopifyScheme(o Options) (Scheme, error) {
	keys, err := rawKeys("shopify", o.Secrets)
	if err != nil {
		return nil, err
	}
	return &shopifyScheme{keys: keys}, nil
}

func (*shopifyScheme) Name() string             { return "shopify" }
func (*shopifyScheme) IDFrom() IDSource         { return IDInHeader(ShopifyWebhookIDHeader) }
func (*shopifyScheme) TimestampHeader() string  { return "" }
func (*shopifyScheme) Tolerance() time.Duration { return 0 }

// Sign signs with the first secret: the header has room for one signature.
func (s *shopifyScheme) Sign(h HeaderSetter, id string, _ time.Time, body []byte) {
	h.Set(ShopifyWebhookIDHeader, id)
	h.Set(ShopifyHMACHeader, base64MAC(s.keys[0], body))
}

func (s *shopifyScheme) Verify(h HeaderGetter, body []byte, _ time.Time) (Verified, error) {
	v, err := required("shopify", h, ShopifyHMACHeader, ShopifyWebhookIDHeader)
	if err != nil {
		return Verified{}, err
	}
	for _, k := range s.keys {
		if equalString(base64MAC(k, body), v[0]) {
			return Verified{ID: v[1]}, nil
		}
	}
	return Verified{}, &VerifyError{Scheme: "shopify", Failure: Mismatch, Field: ShopifyHMACHeader,
		Detail: "want the base64 HMAC-SHA256 of the body keyed by the client secret's bytes"}
}
