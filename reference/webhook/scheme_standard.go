package webhook

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks, and Svix, which sends the same scheme under svix-*
// headers: "v1,<base64 HMAC-SHA256 of id.timestamp.body>", keyed by the
// base64 after "whsec_", several signatures space-separated.
// Sources: https://www.standardwebhooks.com (spec) and
// https://docs.svix.com/receiving/verifying-payloads/how-manual ("svix-id",
// "svix-timestamp", "svix-signature"; signed content
// `${svix_id}.${svix_timestamp}.${body}`; "whsec_" then base64 key).
//
// Both wrap the package's Signer and Verifier, so the standard scheme signs
// and verifies exactly as hookrig always has.
type standardScheme struct {
	name           string
	idH, tsH, sigH string
	// get holds the three names in canonical form: http.Header.Get
	// allocates to canonicalise any other spelling.
	get      [3]string
	signer   *Signer
	verifier *Verifier
}

func newStandardScheme(o Options) (Scheme, error) {
	return newStandardLike("standard", HeaderID, HeaderTimestamp, HeaderSignature, o)
}

// Svix's header names, for a receiver that expects them.
const (
	SvixHeaderID        = "svix-id"
	SvixHeaderTimestamp = "svix-timestamp"
	SvixHeaderSignature = "svix-signature"
)

func newSvixScheme(o Options) (Scheme, error) {
	return newStandardLike("svix", SvixHeaderID, SvixHeaderTimestamp, SvixHeaderSignature, o)
}

func newStandardLike(name, idH, tsH, sigH string, o Options) (Scheme, error) {
	signer, err := NewSigner(o.Secrets...)
	if err != nil {
		return nil, err
	}
	verifier, err := NewVerifier(o.Tolerance, o.Secrets...)
	if err != nil {
		return nil, err
	}
	get := [3]string{canonicalKey(idH), canonicalKey(tsH), canonicalKey(sigH)}
	return &standardScheme{name: name, idH: idH, tsH: tsH, sigH: sigH, get: get, signer: signer, verifier: verifier}, nil
}

func (s *standardScheme) Name() string             { return s.name }
func (s *standardScheme) IDFrom() IDSource         { return IDInHeader(s.idH) }
func (s *standardScheme) TimestampHeader() string  { return s.tsH }
func (s *standardScheme) Tolerance() time.Duration { return s.verifier.Tolerance() }

func (s *standardScheme) Sign(h HeaderSetter, id string, at time.Time, body []byte) {
	s.signer.setHeadersAs(h, s.idH, s.tsH, s.sigH, id, at, body)
}

func (s *standardScheme) Verify(h HeaderGetter, body []byte, now time.Time) (Verified, error) {
	v, err := required(s.name, h, s.get[0], s.get[1], s.get[2])
	if err != nil {
		return Verified{}, err
	}
	if err := s.verifier.VerifyValues(v[0], v[1], v[2], body, now); err != nil {
		return Verified{}, s.failure(err)
	}
	ts, _ := strconv.ParseInt(v[1], 10, 64) // VerifyValues parsed it already
	return Verified{ID: v[0], Timestamp: time.Unix(ts, 0)}, nil
}

// failure turns the Verifier's sentinel-wrapped error into a VerifyError
// naming this scheme's header.
func (s *standardScheme) failure(err error) error {
	detail := func(sentinel error) string {
		return strings.TrimPrefix(strings.TrimPrefix(err.Error(), sentinel.Error()), ": ")
	}
	switch {
	case errors.Is(err, ErrInvalidTimestamp):
		return &VerifyError{Scheme: s.name, Failure: BadFormat, Field: s.tsH, Detail: detail(ErrInvalidTimestamp)}
	case errors.Is(err, ErrTimestampTooOld):
		return &VerifyError{Scheme: s.name, Failure: Stale, Field: s.tsH, Detail: detail(ErrTimestampTooOld)}
	case errors.Is(err, ErrTimestampTooNew):
		return &VerifyError{Scheme: s.name, Failure: Future, Field: s.tsH, Detail: detail(ErrTimestampTooNew)}
	case errors.Is(err, ErrNoMatch):
		return &VerifyError{Scheme: s.name, Failure: Mismatch, Field: s.sigH,
			Detail: "no v1,<base64> signature matches HMAC-SHA256 of \"id.timestamp.body\" keyed by the base64 after whsec_"}
	}
	return &VerifyError{Scheme: s.name, Failure: BadFormat, Detail: err.Error()}
}
