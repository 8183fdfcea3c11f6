package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// This file holds what the provider schemes share: keys read as raw bytes,
// the HMAC, Stripe-style "t=...,v1=..." headers and the timestamp window.

// rawKeys keys the HMAC with each secret's bytes as written. That is how
// GitHub, Shopify and Slack use their secrets, and how Stripe and Convoy use
// theirs even when they start with "whsec_" (they are not base64-decoded,
// unlike Standard Webhooks').
func rawKeys(scheme string, secrets []string) ([][]byte, error) {
	keys := make([][]byte, 0, len(secrets))
	for i, s := range secrets {
		if s == "" {
			return nil, fmt.Errorf("%w: scheme %s: secret %d is empty", ErrInvalidSecret, scheme, i+1)
		}
		keys = append(keys, []byte(s))
	}
	return keys, nil
}

// mac is HMAC-SHA256 of the concatenated parts.
func mac(key []byte, parts ...[]byte) []byte {
	h := hmac.New(sha256.New, key)
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

func hexMAC(key []byte, parts ...[]byte) string { return hex.EncodeToString(mac(key, parts...)) }

func base64MAC(key []byte, parts ...[]byte) string {
	return base64.StdEncoding.EncodeToString(mac(key, parts...))
}

// equalString compares two signatures as written, in constant time.
func equalString(want, got string) bool { return equalConstantTime([]byte(want), got) }

// tvHeader is a parsed Stripe-style signature header: comma-separated
// key=value elements, "t" the signed timestamp, every "v1" a signature (one
// per active secret while the sender rotates), other keys (Stripe's v0,
// Convoy's v2...) ignored, as the providers' own verifiers ignore them.
type tvHeader struct {
	t    string
	sigs []string
}

func parseTV(scheme, header, value string) (tvHeader, error) {
	var tv tvHeader
	seenT := false
	for elem := range strings.SplitSeq(value, ",") {
		// Convoy's docs print the header over several lines; tolerate the
		// spaces a copy of it brings.
		k, v, ok := strings.Cut(strings.TrimSpace(elem), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			if seenT {
				return tvHeader{}, &VerifyError{Scheme: scheme, Failure: BadFormat, Field: header + " t=", Detail: "t= appears twice; want one timestamp"}
			}
			seenT, tv.t = true, v
		case "v1":
			tv.sigs = append(tv.sigs, v)
		}
	}
	if !seenT {
		return tvHeader{}, &VerifyError{Scheme: scheme, Failure: BadFormat, Field: header + " t=", Detail: fmt.Sprintf("no t=<unix seconds> in %q; want t=<ts>,v1=<signature>", value)}
	}
	if len(tv.sigs) == 0 {
		return tvHeader{}, &VerifyError{Scheme: scheme, Failure: BadFormat, Field: header, Detail: fmt.Sprintf("no v1=<signature> in %q; want t=<ts>,v1=<signature>", value)}
	}
	return tv, nil
}

// tvLayout is a Stripe-style scheme: its name, its header, and what joins
// the timestamp to the body in the signed string ("." for Stripe, "," for
// Convoy). Convoy projects may encode signatures in base64 instead of hex.
type tvLayout struct {
	scheme, header, sep string
	base64OK            bool
}

// sign writes "t=<ts>,v1=<hex>" with one v1 per key.
func (l tvLayout) sign(keys [][]byte, at time.Time, body []byte) string {
	ts := strconv.FormatInt(at.Unix(), 10)
	var b strings.Builder
	b.WriteString("t=")
	b.WriteString(ts)
	for _, k := range keys {
		b.WriteString(",v1=")
		b.WriteString(hexMAC(k, []byte(ts), []byte(l.sep), body))
	}
	return b.String()
}

// verify checks the header's value: its layout, its timestamp, then that
// some v1 matches under some key. It returns the signed time.
func (l tvLayout) verify(keys [][]byte, value string, body []byte, now time.Time, tol time.Duration) (time.Time, error) {
	tv, err := parseTV(l.scheme, l.header, value)
	if err != nil {
		return time.Time{}, err
	}
	at, err := checkTimestamp(l.scheme, l.header+" t=", tv.t, now, tol)
	if err != nil {
		return time.Time{}, err
	}
	if !anyMatch(keys, tv.sigs, l.base64OK, []byte(tv.t), []byte(l.sep), body) {
		enc := "hex"
		if l.base64OK {
			enc = "hex (or base64)"
		}
		return time.Time{}, &VerifyError{Scheme: l.scheme, Failure: Mismatch, Field: l.header,
			Detail: fmt.Sprintf("no v1 matches the %s HMAC-SHA256 of \"t%sbody\" keyed by the secret's bytes, a whsec_ prefix included", enc, l.sep)}
	}
	return at, nil
}

// anyMatch reports whether any signature equals the HMAC of the parts under
// any key, in hex or, with base64OK, in base64 (several keys: the receiver
// rotates; several signatures: the sender rotates).
func anyMatch(keys [][]byte, sigs []string, base64OK bool, parts ...[]byte) bool {
	for _, k := range keys {
		sum := mac(k, parts...)
		want := []string{hex.EncodeToString(sum)}
		if base64OK {
			want = append(want, base64.StdEncoding.EncodeToString(sum))
		}
		for _, w := range want {
			for _, sig := range sigs {
				if equalString(w, sig) {
					return true
				}
			}
		}
	}
	return false
}

// checkTimestamp reads whole Unix seconds and refuses a time further than
// tol from now in either direction. The comparison is in seconds because a
// time.Duration overflows for the absurd timestamps a fuzzer sends.
func checkTimestamp(scheme, field, value string, now time.Time, tol time.Duration) (time.Time, error) {
	ts, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return time.Time{}, &VerifyError{Scheme: scheme, Failure: BadFormat, Field: field, Detail: fmt.Sprintf("%q is not whole seconds since the Unix epoch", value)}
	}
	nowS, tolS := now.Unix(), int64(tol/time.Second)
	if ts < nowS-tolS {
		return time.Time{}, &VerifyError{Scheme: scheme, Failure: Stale, Field: field, Detail: fmt.Sprintf("%d is more than %s before now", ts, tol)}
	}
	if ts > nowS+tolS {
		return time.Time{}, &VerifyError{Scheme: scheme, Failure: Future, Field: field, Detail: fmt.Sprintf("%d is more than %s after now", ts, tol)}
	}
	return time.Unix(ts, 0), nil
}

// required returns the values of up to three named headers, or a
// MissingHeader error for the first one that is absent. An array rather
// than a slice: the standard scheme's Verify stays allocation-free, as the
// receiver's hot path needs.
func required(scheme string, h HeaderGetter, names ...string) ([3]string, error) {
	var vals [3]string
	for i, n := range names {
		vals[i] = h.Get(n)
		if vals[i] == "" {
			return vals, &VerifyError{Scheme: scheme, Failure: MissingHeader, Field: n}
		}
	}
	return vals, nil
}
