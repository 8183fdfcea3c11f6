package webhook

import (
	"fmt"
	"strings"
	"time"
)

// GitHub: X-Hub-Signature-256 is "sha256=" and the hex HMAC-SHA256 of the
// raw body, keyed by the webhook secret's bytes; X-GitHub-Delivery names the
// delivery (a GUID, the same on a redelivery). Nothing signs a time or the
// delivery id, so a captured request replays for ever and a changed
// X-GitHub-Delivery still verifies: only deduplication protects a receiver.
// Source: https://docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries
// (its test values: secret "It's a Secret to Everybody", payload
// "Hello, World!", signature sha256=757107ea...3e17; see scheme_test.go).
const (
	GitHubSignatureHeader = "X-Hub-Signature-256"
	GitHubDeliveryHeader  = "X-GitHub-Delivery"
	githubPrefix          = "sha256="
)

type githubScheme struct{ keys [][]byte }

func newGitHubScheme(o Options) (Scheme, error) {
	keys, err := rawKeys("github", o.Secrets)
	if err != nil {
		return nil, err
	}
	return &githubScheme{keys: keys}, nil
}

func (*githubScheme) Name() string             { return "github" }
func (*githubScheme) IDFrom() IDSource         { return IDInHeader(GitHubDeliveryHeader) }
func (*githubScheme) TimestampHeader() string  { return "" }
func (*githubScheme) Tolerance() time.Duration { return 0 }

// Sign signs with the first secret: the header has room for one signature.
func (s *githubScheme) Sign(h HeaderSetter, id string, _ time.Time, body []byte) {
	h.Set(GitHubDeliveryHeader, id)
	h.Set(GitHubSignatureHeader, githubPrefix+hexMAC(s.keys[0], body))
}

func (s *githubScheme) Verify(h HeaderGetter, body []byte, _ time.Time) (Verified, error) {
	v, err := required("github", h, GitHubSignatureHeader, GitHubDeliveryHeader)
	if err != nil {
		return Verified{}, err
	}
	sig := v[0]
	if !strings.HasPrefix(sig, githubPrefix) {
		return Verified{}, &VerifyError{Scheme: "github", Failure: BadFormat, Field: GitHubSignatureHeader,
			Detail: fmt.Sprintf("%q does not start with %q; want sha256=<64 hex digits>", clip(sig), githubPrefix)}
	}
	for _, k := range s.keys {
		if equalString(githubPrefix+hexMAC(k, body), sig) {
			return Verified{ID: v[1]}, nil
		}
	}
	return Verified{}, &VerifyError{Scheme: "github", Failure: Mismatch, Field: GitHubSignatureHeader,
		Detail: "want sha256=<hex HMAC-SHA256 of the body> keyed by the secret's bytes"}
}

// clip keeps an echoed header short in an error message.
func clip(s string) string {
	const max = 80
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
