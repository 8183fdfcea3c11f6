package webhook

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"testing"
	"time"
)

// conformVectorsPath is the shared signing and verification vectors
// (hookrig.vectors/v1, documented in docs/cli/conform.md for libraries in
// any language); this package is the one hookrig signs and verifies with,
// so it must agree with every one.
const conformVectorsPath = "../conform/testdata/vectors.json"

// conformVectors is conformVectorsPath's layout.
type conformVectors struct {
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

func loadConformVectors(t *testing.T) conformVectors {
	t.Helper()
	b, err := os.ReadFile(conformVectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var v conformVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", conformVectorsPath, err)
	}
	if v.Schema != "hookrig.vectors/v1" || len(v.Signing) == 0 || len(v.Verification) == 0 {
		t.Fatalf("%s: schema %q, %d signing and %d verification cases", conformVectorsPath, v.Schema, len(v.Signing), len(v.Verification))
	}
	return v
}

// vectorBody is a case's body: text, or raw bytes in base64 (one of the
// two is given; an empty text is an empty body).
func conformVectorBody(t *testing.T, text *string, b64 string) []byte {
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

// Signer and Verifier (what the reference sender and receiver sign and
// verify with) agree with every shared vector.
func TestConformVectors(t *testing.T) {
	v := loadConformVectors(t)
	// reasons maps the vectors' reject reasons to this package's errors.
	reasons := map[string]error{
		"missing-header":        ErrMissingHeader,
		"invalid-timestamp":     ErrInvalidTimestamp,
		"timestamp-too-old":     ErrTimestampTooOld,
		"timestamp-too-new":     ErrTimestampTooNew,
		"no-matching-signature": ErrNoMatch,
	}
	for _, c := range v.Signing {
		s, err := NewSigner(c.Secret)
		if err != nil {
			t.Errorf("signing %q: %v", c.Name, err)
			continue
		}
		if got := s.Signature(c.ID, c.Timestamp, conformVectorBody(t, c.Body, c.BodyBase64)); got != c.Signature {
			t.Errorf("signing %q: %s, want %s", c.Name, got, c.Signature)
		}
	}
	for _, c := range v.Verification {
		vr, err := NewVerifier(time.Duration(c.Tolerance)*time.Second, c.Secrets...)
		if err != nil {
			t.Errorf("verification %q: %v", c.Name, err)
			continue
		}
		h := http.Header{}
		for k, val := range c.Headers {
			h.Set(k, val)
		}
		err = vr.Verify(h, conformVectorBody(t, c.Body, c.BodyBase64), time.Unix(c.Now, 0))
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
