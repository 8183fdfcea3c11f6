package conform

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/hookrig/hookrig/reference/webhook"
)

// vectors is testdata/vectors.json (its format is documented in
// docs/cli/conform.md, for libraries in any language).
type vectors struct {
	Schema  string `json:"schema"`
	Signing []struct {
		Name       string  `json:"name"`
		Secret     string  `json:"secret"`
		ID         string  `json:"id"`
		Timestamp  int64   `json:"timestamp"`
		Body       *string `json:"body"`
		BodyBase64 string  `json:"body_base64"`
		Signature  string  `json:"signature"`
	} `json:"signing"`
	Verification []struct {
		Name       string            `json:"name"`
		Secrets    []string          `json:"secrets"`
		Headers    map[string]string `json:"headers"`
		Body       *string           `json:"body"`
		BodyBase64 string            `json:"body_base64"`
		Now        int64             `json:"now"`
		Tolerance  int64             `json:"tolerance_seconds"`
		Accept     bool              `json:"accept"`
		Reason     string            `json:"reason"`
	} `json:"verification"`
}

func loadVectors(t *testing.T) vectors {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("testdata/vectors.json: %v", err)
	}
	if v.Schema != "hookrig.vectors/v1" || len(v.Signing) == 0 || len(v.Verification) == 0 {
		t.Fatalf("testdata/vectors.json: schema %q, %d signing and %d verification cases", v.Schema, len(v.Signing), len(v.Verification))
	}
	return v
}

// vectorBody is a case's body: text, or raw bytes in base64 (one of the
// two is given; an empty text is an empty body).
func vectorBody(t *testing.T, text *string, b64 string) []byte {
	t.Helper()
	if text != nil {
		return []byte(*text)
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatalf("body_base64: %v", err)
	}
	return b
}

// reference/webhook (what the reference sender and receiver sign and
// verify with) agrees with every vector.
func TestVectorsAgainstReferenceWebhook(t *testing.T) {
	v := loadVectors(t)
	// reasons maps the vectors' reject reasons to reference/webhook's errors.
	reasons := map[string]error{
		"missing-header":        webhook.ErrMissingHeader,
		"invalid-timestamp":     webhook.ErrInvalidTimestamp,
		"timestamp-too-old":     webhook.ErrTimestampTooOld,
		"timestamp-too-new":     webhook.ErrTimestampTooNew,
		"no-matching-signature": webhook.ErrNoMatch,
	}
	for _, c := range v.Signing {
		s, err := webhook.NewSigner(c.Secret)
		if err != nil {
			t.Errorf("signing %q: %v", c.Name, err)
			continue
		}
		if got := s.Signature(c.ID, c.Timestamp, vectorBody(t, c.Body, c.BodyBase64)); got != c.Signature {
			t.Errorf("signing %q: %s, want %s", c.Name, got, c.Signature)
		}
	}
	for _, c := range v.Verification {
		vr, err := webhook.NewVerifier(time.Duration(c.Tolerance)*time.Second, c.Secrets...)
		if err != nil {
			t.Errorf("verification %q: %v", c.Name, err)
			continue
		}
		h := http.Header{}
		for k, val := range c.Headers {
			h.Set(k, val)
		}
		err = vr.Verify(h, vectorBody(t, c.Body, c.BodyBase64), time.Unix(c.Now, 0))
		switch want, known := reasons[c.Reason]; {
		case c.Accept && err != nil:
			t.Errorf("verification %q: rejected (%v), want accepted", c.Name, err)
		case !c.Accept && !known:
			t.Errorf("verification %q: reason %q is not one of the documented reasons", c.Name, c.Reason)
		case !c.Accept && !errors.Is(err, want):
			t.Errorf("verification %q: %v, want %s", c.Name, err, c.Reason)
		}
	}
}
