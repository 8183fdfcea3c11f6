// Package webhook signs and verifies webhooks exactly as the Standard Webhooks
// specification (https://www.standardwebhooks.com) describes: the headers
// webhook-id, webhook-timestamp and webhook-signature; the signed content
// "id.timestamp.body"; HMAC-SHA256 keyed by the base64 secret after "whsec_";
// signatures written "v1,<base64>" and space-separated so that a sender can
// sign with several secrets while rotating them.
//
// The package knows nothing of queues or servers: the reference sender, the
// reference receiver and the load generator all share it.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Header names from the Standard Webhooks specification, plus the attempt
// counter that hookrig's sender adds (not part of the spec; receivers may
// ignore it, hookrig's receiver journals it).
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
	HeaderAttempt   = "webhook-attempt"
)

// SecretPrefix marks a Standard Webhooks secret.
const SecretPrefix = "whsec_"

// DefaultTolerance is how far a timestamp may be from the verifier's clock,
// in either direction, before it is refused (the spec's recommendation).
const DefaultTolerance = 5 * time.Minute

// Errors returned by Verify. They are distinct so that a server can answer
// 401 for a signature problem and 400 for a timestamp problem.
var (
	ErrMissingHeader    = errors.New("missing required header")
	ErrInvalidTimestamp = errors.New("invalid webhook-timestamp")
	ErrTimestampTooOld  = errors.New("message timestamp too old")
	ErrTimestampTooNew  = errors.New("message timestamp too new")
	ErrNoMatch          = errors.New("no matching signature found")
	ErrInvalidSecret    = errors.New("invalid secret")
)

// IsTimestampError reports whether err means the timestamp was unreadable or
// outside the tolerance, as opposed to a missing or wrong signature.
func IsTimestampError(err error) bool {
	return errors.Is(err, ErrInvalidTimestamp) || errors.Is(err, ErrTimestampTooOld) || errors.Is(err, ErrTimestampTooNew)
}

// Secret is a decoded signing key.
type Secret struct {
	key []byte
	// pool keeps macStates keyed with this secret: hmac.New allocates and
	// hashes the key each time, a noticeable cost at tens of thousands of
	// signatures per second.
	pool *sync.Pool
}

// macState is one HMAC keyed with a secret plus the scratch space a
// signature needs. Everything handed to the hash.Hash interface lives here,
// on the heap already, so signing and verifying allocate nothing: a stack
// buffer passed to h.Write or h.Sum escapes (the compiler cannot see through
// the interface) and costs an allocation per call.
type macState struct {
	h      hash.Hash
	prefix []byte                             // "id.timestamp."
	sum    [sha256.Size]byte                  // the raw HMAC
	enc    [sigPrefixLen + encodedSigLen]byte // "v1,<base64>" of sum
}

const (
	sigPrefixLen  = len("v1,")
	encodedSigLen = (sha256.Size + 2) / 3 * 4 // padded base64 of 32 bytes: 44
	// maxKeptPrefix bounds the scratch a pooled state keeps: a huge id (a
	// fuzzer's, or an attacker's) is served, then its buffer is dropped
	// rather than pinned in the pool.
	maxKeptPrefix = 1 << 10
)

// ParseSecret decodes a secret written as "whsec_<base64>" (the prefix is
// optional, as in the official libraries).
func ParseSecret(s string) (Secret, error) {
	raw := strings.TrimPrefix(strings.TrimSpace(s), SecretPrefix)
	if raw == "" {
		return Secret{}, fmt.Errorf("%w: empty (want whsec_ followed by base64)", ErrInvalidSecret)
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return Secret{}, fmt.Errorf("%w: not base64 after %q: %v", ErrInvalidSecret, SecretPrefix, err)
	}
	if len(key) == 0 {
		return Secret{}, fmt.Errorf("%w: decodes to no bytes", ErrInvalidSecret)
	}
	return NewSecret(key), nil
}

// NewSecret wraps raw key bytes.
func NewSecret(key []byte) Secret {
	k := append([]byte(nil), key...)
	return Secret{key: k, pool: &sync.Pool{New: func() any {
		return &macState{h: hmac.New(sha256.New, k), prefix: make([]byte, 0, 64)}
	}}}
}

// String renders the secret in its "whsec_" form.
func (s Secret) String() string { return SecretPrefix + base64.StdEncoding.EncodeToString(s.key) }

// IsZero reports whether the secret holds no key.
func (s Secret) IsZero() bool { return len(s.key) == 0 }

// sign computes the HMAC-SHA256 of "id.timestamp.body" and its "v1,<base64>"
// form into a pooled state; the caller reads st.enc and hands st back with
// release.
func (s Secret) sign(id string, ts int64, body []byte) *macState {
	st := s.pool.Get().(*macState)
	st.h.Reset()
	b := append(st.prefix[:0], id...)
	b = append(b, '.')
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, '.')
	st.h.Write(b)
	st.h.Write(body)
	st.h.Sum(st.sum[:0])
	copy(st.enc[:], "v1,")
	base64.StdEncoding.Encode(st.enc[sigPrefixLen:], st.sum[:])
	if cap(b) <= maxKeptPrefix {
		st.prefix = b
	}
	return st
}

func (s Secret) release(st *macState) { s.pool.Put(st) }

// AppendSignature appends "v1,<base64>" for the given message to dst. It is
// the allocation-free form used by the load generator.
func (s Secret) AppendSignature(dst []byte, id string, ts int64, body []byte) []byte {
	st := s.sign(id, ts, body)
	dst = append(dst, st.enc[:]...)
	s.release(st)
	return dst
}

// Sign returns the "v1,<base64>" signature of one message.
func (s Secret) Sign(id string, ts int64, body []byte) string {
	return string(s.AppendSignature(make([]byte, 0, 48), id, ts, body))
}

// Signer signs with one or more secrets; with several (rotation) the
// signature header carries one signature per secret, space-separated.
type Signer struct {
	secrets []Secret
}

// NewSigner parses the given secrets ("whsec_..."); at least one is needed.
func NewSigner(secrets ...string) (*Signer, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("%w: no secret given", ErrInvalidSecret)
	}
	s := &Signer{}
	for _, raw := range secrets {
		sec, err := ParseSecret(raw)
		if err != nil {
			return nil, err
		}
		s.secrets = append(s.secrets, sec)
	}
	return s, nil
}

// AppendSignatures appends the value of the webhook-signature header.
func (s *Signer) AppendSignatures(dst []byte, id string, ts int64, body []byte) []byte {
	for i, sec := range s.secrets {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = sec.AppendSignature(dst, id, ts, body)
	}
	return dst
}

// Signature returns the value of the webhook-signature header.
func (s *Signer) Signature(id string, ts int64, body []byte) string {
	return string(s.AppendSignatures(make([]byte, 0, 48*len(s.secrets)), id, ts, body))
}

// HeaderSetter is the part of http.Header (and of fasthttp's headers) that
// SetHeaders needs.
type HeaderSetter interface {
	Set(key, value string)
}

// SetHeaders writes the three Standard Webhooks headers for a message sent at
// time at.
func (s *Signer) SetHeaders(h HeaderSetter, id string, at time.Time, body []byte) {
	s.setHeadersAs(h, HeaderID, HeaderTimestamp, HeaderSignature, id, at, body)
}

// setHeadersAs writes the three headers under the given names: Svix sends
// the same scheme as svix-id, svix-timestamp and svix-signature.
func (s *Signer) setHeadersAs(h HeaderSetter, idH, tsH, sigH, id string, at time.Time, body []byte) {
	ts := at.Unix()
	h.Set(idH, id)
	h.Set(tsH, strconv.FormatInt(ts, 10))
	h.Set(sigH, s.Signature(id, ts, body))
}

// HeaderGetter is the part of http.Header that Verify needs.
type HeaderGetter interface {
	Get(key string) string
}

// Verifier checks signatures against one or more secrets (any may match, so
// a receiver accepts both the old and the new secret during rotation).
type Verifier struct {
	secrets   []Secret
	tolerance time.Duration
}

// NewVerifier parses the secrets; tolerance <= 0 means DefaultTolerance.
func NewVerifier(tolerance time.Duration, secrets ...string) (*Verifier, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("%w: no secret given", ErrInvalidSecret)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	v := &Verifier{tolerance: tolerance}
	for _, raw := range secrets {
		sec, err := ParseSecret(raw)
		if err != nil {
			return nil, err
		}
		v.secrets = append(v.secrets, sec)
	}
	return v, nil
}

// Tolerance is the allowed distance between a timestamp and now.
func (v *Verifier) Tolerance() time.Duration { return v.tolerance }

// Verify checks a request's headers and body at time now.
func (v *Verifier) Verify(h HeaderGetter, body []byte, now time.Time) error {
	return v.VerifyValues(h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature), body, now)
}

// VerifyValues checks the three header values directly (for servers that do
// not use http.Header).
func (v *Verifier) VerifyValues(id, timestamp, signatures string, body []byte, now time.Time) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: %s", ErrMissingHeader, HeaderID)
	case timestamp == "":
		return fmt.Errorf("%w: %s", ErrMissingHeader, HeaderTimestamp)
	case signatures == "":
		return fmt.Errorf("%w: %s", ErrMissingHeader, HeaderSignature)
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %q is not whole seconds since the Unix epoch", ErrInvalidTimestamp, timestamp)
	}
	// Compare in seconds: a time.Duration overflows for absurd timestamps,
	// and a fuzzer will send them.
	nowS, tolS := now.Unix(), int64(v.tolerance/time.Second)
	if ts < nowS-tolS {
		return fmt.Errorf("%w: %d is more than %s before now", ErrTimestampTooOld, ts, v.tolerance)
	}
	if ts > nowS+tolS {
		return fmt.Errorf("%w: %d is more than %s after now", ErrTimestampTooNew, ts, v.tolerance)
	}
	// Compare the signatures as written with the expected "v1,<base64>",
	// as the official libraries do, rather than decoding each: decoding
	// would accept spellings that are not the signature (base64 ignores
	// line breaks inside) and needs a []byte copy of the header.
	for _, sec := range v.secrets {
		st := sec.sign(id, ts, body)
		rest := signatures
		for rest != "" {
			var part string
			part, rest, _ = strings.Cut(rest, " ")
			if equalConstantTime(st.enc[:], part) {
				sec.release(st)
				return nil
			}
		}
		sec.release(st)
	}
	return ErrNoMatch
}

// equalConstantTime reports whether a and b hold the same bytes, taking the
// same time wherever they differ (as hmac.Equal, without converting b).
func equalConstantTime(a []byte, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var diff byte
	for i := range a {
		diff |= a[i] ^ b[i]
	}
	return diff == 0
}
