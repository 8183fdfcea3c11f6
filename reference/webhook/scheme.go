package webhook

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// A Scheme is one way the world signs webhooks: which headers carry the
// signature, the timestamp and the event id, what string is signed and how
// the secret keys the HMAC. A Scheme value is keyed (it holds its secrets)
// and pure: it reads no clock, the caller passes "at" and "now".
//
// Sign sets every header the scheme needs for one message; with several
// secrets a scheme that allows several signatures in one header (standard,
// svix, stripe, convoy) writes one per secret so that a receiver mid-rotation
// accepts either, and a scheme with room for one signature (github, shopify,
// slack, convoy-simple) signs with the first secret. Verify accepts a
// signature made with any of the secrets, which is how a receiver rotates.
type Scheme interface {
	// Name is the registry name ("standard", "stripe", ...).
	Name() string
	// Sign sets the headers for a message with this id, sent at at.
	// Schemes whose id lives in the body (stripe) write no id header: the
	// caller puts the id into the body it signs.
	Sign(h HeaderSetter, id string, at time.Time, body []byte)
	// Verify checks a received request at time now. It returns the event id
	// and the signed timestamp (when the scheme has them), or a *VerifyError
	// saying what was wrong.
	Verify(h HeaderGetter, body []byte, now time.Time) (Verified, error)
	// IDFrom says where the event id lives; IDSource{} (none) for a scheme
	// that carries no id, where deduplication by id is impossible.
	IDFrom() IDSource
	// TimestampHeader names the header holding the signed timestamp, or ""
	// when the scheme signs no timestamp (then a captured request can be
	// replayed for ever: only deduplication by id protects the receiver).
	TimestampHeader() string
	// Tolerance is how far the signed timestamp may be from now, either
	// way; 0 for a scheme without a signed timestamp.
	Tolerance() time.Duration
}

// Verified is what a good signature vouches for.
type Verified struct {
	// ID is the event id from the scheme's IDSource; "" when the scheme
	// carries none (slack) or the sender did not send its optional id
	// header (convoy).
	ID string
	// Timestamp is the signed send time; the zero Time when the scheme signs
	// none (github, shopify, convoy-simple).
	Timestamp time.Time
}

// Options configure a scheme.
type Options struct {
	// Secrets, at least one. Each scheme reads them as its provider does:
	// standard and svix base64-decode the part after "whsec_"; every other
	// scheme keys the HMAC with the string's bytes as written (for stripe
	// and convoy that includes a "whsec_" prefix).
	Secrets []string
	// Tolerance for schemes with a signed timestamp; <= 0 means
	// DefaultTolerance (five minutes, which is also Stripe's and Slack's).
	Tolerance time.Duration
}

// DefaultScheme is the scheme hookrig uses unless told otherwise.
const DefaultScheme = "standard"

// schemeBuilders is the registry. It is built once and never written: adding
// a scheme is adding a line here and a file.
var schemeBuilders = map[string]func(Options) (Scheme, error){
	"standard":      newStandardScheme,
	"svix":          newSvixScheme,
	"github":        newGitHubScheme,
	"stripe":        newStripeScheme,
	"shopify":       newShopifyScheme,
	"slack":         newSlackScheme,
	"convoy":        newConvoyScheme,
	"convoy-simple": newConvoySimpleScheme,
}

// SchemeNames lists the registered schemes, sorted.
func SchemeNames() []string {
	names := make([]string, 0, len(schemeBuilders))
	for n := range schemeBuilders {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// NewScheme returns the named scheme keyed with opts.Secrets; "" means
// DefaultScheme.
func NewScheme(name string, opts Options) (Scheme, error) {
	if name == "" {
		name = DefaultScheme
	}
	build, ok := schemeBuilders[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("unknown signature scheme %q (want one of %s)", name, strings.Join(SchemeNames(), ", "))
	}
	if len(opts.Secrets) == 0 {
		return nil, fmt.Errorf("%w: scheme %s needs at least one secret", ErrInvalidSecret, name)
	}
	if opts.Tolerance <= 0 {
		opts.Tolerance = DefaultTolerance
	}
	return build(opts)
}

// Failure says what was wrong with a request that did not verify.
type Failure int

// The failures a Verify can report. The HTTP answer a receiver gives follows
// from them: a missing or mismatched signature is 401, a bad timestamp is
// 400 (see IsTimestampError).
const (
	MissingHeader Failure = iota + 1 // a header the scheme needs is absent or empty
	BadFormat                        // a header or the body is not written as the scheme writes it
	Mismatch                         // no signature matches the body with any secret
	Stale                            // the signed timestamp is older than the tolerance
	Future                           // the signed timestamp is further ahead than the tolerance
	MissingID                        // the signature is good but the body holds no event id where the scheme keeps it
)

func (f Failure) String() string {
	switch f {
	case MissingHeader:
		return "missing header"
	case BadFormat:
		return "bad format"
	case Mismatch:
		return "signature mismatch"
	case Stale:
		return "stale timestamp"
	case Future:
		return "timestamp in the future"
	case MissingID:
		return "missing event id"
	}
	return fmt.Sprintf("failure(%d)", int(f))
}

// ErrBadFormat and ErrMissingID join the sentinel errors of webhook.go, so
// that errors.Is works the same for every scheme.
var (
	ErrBadFormat = errors.New("malformed signature header")
	ErrMissingID = errors.New("no event id")
)

// VerifyError is the error every Scheme's Verify returns.
type VerifyError struct {
	Scheme  string  // the scheme's name
	Failure Failure // what was wrong
	Field   string  // the header (or "body") at fault, when there is one
	Detail  string  // what was found and what was expected
}

func (e *VerifyError) Error() string {
	var b strings.Builder
	b.WriteString(e.Scheme)
	b.WriteString(": ")
	b.WriteString(e.Failure.String())
	if e.Field != "" {
		b.WriteString(" (")
		b.WriteString(e.Field)
		b.WriteString(")")
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// Unwrap maps the failure onto the package's sentinel errors, so that
// IsTimestampError and errors.Is(err, ErrNoMatch) hold for every scheme.
func (e *VerifyError) Unwrap() error {
	switch e.Failure {
	case MissingHeader:
		return ErrMissingHeader
	case BadFormat:
		if e.timestampField() {
			return ErrInvalidTimestamp
		}
		return ErrBadFormat
	case Mismatch:
		return ErrNoMatch
	case Stale:
		return ErrTimestampTooOld
	case Future:
		return ErrTimestampTooNew
	case MissingID:
		return ErrMissingID
	}
	return nil
}

// timestampField reports whether the fault is in the timestamp: a header
// named for it, or the t= element of a Stripe-like header.
func (e *VerifyError) timestampField() bool {
	f := strings.ToLower(e.Field)
	return strings.HasSuffix(f, "timestamp") || strings.HasSuffix(f, " t=")
}

// FailureOf returns the Failure inside err, or 0 when err is not a
// *VerifyError.
func FailureOf(err error) Failure {
	var ve *VerifyError
	if errors.As(err, &ve) {
		return ve.Failure
	}
	return 0
}

// canonicalKey is a header name in the form http.Header keeps it
// (textproto.CanonicalMIMEHeaderKey for the token characters header names
// use), written here so that this package, which chaos/fault links, does
// not link net/textproto.
func canonicalKey(s string) string {
	b := []byte(s)
	upper := true
	for i, c := range b {
		switch {
		case upper && 'a' <= c && c <= 'z':
			b[i] = c - ('a' - 'A')
		case !upper && 'A' <= c && c <= 'Z':
			b[i] = c + ('a' - 'A')
		}
		upper = c == '-'
	}
	return string(b)
}
