package webhook

import (
	"fmt"
	"testing"
)

func TestDescribe(t *testing.T) {
	want := map[string]string{
		"standard":      "[Webhook-Id Webhook-Signature Webhook-Timestamp] signs id: true",
		"svix":          "[Svix-Id Svix-Signature Svix-Timestamp] signs id: true",
		"github":        "[X-Github-Delivery X-Hub-Signature-256] signs id: false",
		"stripe":        "[Stripe-Signature] signs id: true",
		"shopify":       "[X-Shopify-Hmac-Sha256 X-Shopify-Webhook-Id] signs id: false",
		"slack":         "[X-Slack-Request-Timestamp X-Slack-Signature] signs id: false",
		"convoy":        "[X-Convoy-Event-Id X-Convoy-Signature] signs id: false",
		"convoy-simple": "[X-Convoy-Event-Id X-Convoy-Signature] signs id: false",
	}
	eachScheme(t, func(t *testing.T, s Scheme) {
		d := Describe(s)
		if got := fmt.Sprintf("%v signs id: %v", d.Headers, d.SignsID); got != want[s.Name()] {
			t.Errorf("Describe: %s, want %s", got, want[s.Name()])
		}
		if d.Name != s.Name() || d.IDFrom != s.IDFrom() || d.TimestampHeader != s.TimestampHeader() || d.Tolerance != s.Tolerance() {
			t.Errorf("Describe copied %+v wrongly", d)
		}
	})
	if len(want) != len(SchemeNames()) {
		t.Errorf("the table covers %d schemes, %d are registered", len(want), len(SchemeNames()))
	}
}
