package webhook

import (
	"net/textproto"
	"testing"
)

// canonicalKey must agree with net/textproto on every header name a
// scheme reads or writes, and on mixed-case spellings of them.
func TestCanonicalKeyMatchesTextproto(t *testing.T) {
	names := []string{"webhook-id", "WEBHOOK-TIMESTAMP", "svix-signature", "x-hub-signature-256", "X-GitHub-Delivery",
		"stripe-signature", "x-shopify-hmac-sha256", "X-Slack-Request-Timestamp", "x-convoy-signature", "a", "-x-", "content-type"}
	for _, name := range SchemeNames() {
		s, err := NewScheme(name, Options{Secrets: []string{testSecretForCanonical}})
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, Describe(s).Headers...)
	}
	for _, n := range names {
		if got, want := canonicalKey(n), textproto.CanonicalMIMEHeaderKey(n); got != want {
			t.Errorf("canonicalKey(%q) = %q, want %q", n, got, want)
		}
	}
}

const testSecretForCanonical = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
