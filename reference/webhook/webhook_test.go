package webhook

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The vector every official Standard Webhooks library tests against.
const (
	vecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vecID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vecTS     = int64(1614265330)
	vecBody   = `{"test": 2432232314}`
	vecSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

var vecNow = time.Unix(vecTS, 0)

func TestSignKnownVector(t *testing.T) {
	s, err := NewSigner(vecSecret)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Signature(vecID, vecTS, []byte(vecBody)); got != vecSig {
		t.Fatalf("signature = %q, want %q", got, vecSig)
	}
	// The prefix is optional.
	s2, err := NewSigner(strings.TrimPrefix(vecSecret, SecretPrefix))
	if err != nil {
		t.Fatal(err)
	}
	if got := s2.Signature(vecID, vecTS, []byte(vecBody)); got != vecSig {
		t.Fatalf("signature without prefix = %q, want %q", got, vecSig)
	}
}

func headers(id, ts, sig string) http.Header {
	h := http.Header{}
	if id != "" {
		h.Set(HeaderID, id)
	}
	if ts != "" {
		h.Set(HeaderTimestamp, ts)
	}
	if sig != "" {
		h.Set(HeaderSignature, sig)
	}
	return h
}

func TestVerify(t *testing.T) {
	ts := strconv.FormatInt(vecTS, 10)
	v, err := NewVerifier(0, vecSecret)
	if err != nil {
		t.Fatal(err)
	}
	tol := DefaultTolerance
	cases := []struct {
		name string
		h    http.Header
		body string
		now  time.Time
		want error
	}{
		{"valid", headers(vecID, ts, vecSig), vecBody, vecNow, nil},
		{"missing id", headers("", ts, vecSig), vecBody, vecNow, ErrMissingHeader},
		{"missing timestamp", headers(vecID, "", vecSig), vecBody, vecNow, ErrMissingHeader},
		{"missing signature", headers(vecID, ts, ""), vecBody, vecNow, ErrMissingHeader},
		{"bare v1,", headers(vecID, ts, "v1,"), vecBody, vecNow, ErrNoMatch},
		{"no comma", headers(vecID, ts, "v1"), vecBody, vecNow, ErrNoMatch},
		{"wrong signature", headers(vecID, ts, "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="), vecBody, vecNow, ErrNoMatch},
		{"not base64", headers(vecID, ts, "v1,!!!!"), vecBody, vecNow, ErrNoMatch},
		{"right signature wrong version", headers(vecID, ts, "v2"+vecSig[2:]), vecBody, vecNow, ErrNoMatch},
		{"several signatures mixed with other versions", headers(vecID, ts,
			"v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= "+vecSig+" v1a,abc"),
			vecBody, vecNow, nil},
		{"changed body", headers(vecID, ts, vecSig), `{"test": 2432232315}`, vecNow, ErrNoMatch},
		{"changed id", headers(vecID+"x", ts, vecSig), vecBody, vecNow, ErrNoMatch},
		{"timestamp not a number", headers(vecID, "yesterday", vecSig), vecBody, vecNow, ErrInvalidTimestamp},
		{"old edge accepted", headers(vecID, ts, vecSig), vecBody, vecNow.Add(tol), nil},
		{"just too old", headers(vecID, ts, vecSig), vecBody, vecNow.Add(tol + time.Second), ErrTimestampTooOld},
		{"new edge accepted", headers(vecID, ts, vecSig), vecBody, vecNow.Add(-tol), nil},
		{"just too new", headers(vecID, ts, vecSig), vecBody, vecNow.Add(-tol - time.Second), ErrTimestampTooNew},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := v.Verify(c.h, []byte(c.body), c.now)
			if c.want == nil && err != nil {
				t.Fatalf("Verify = %v, want success", err)
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
		})
	}
}

// TestVerifyValuesSpelling: a signature is accepted only as the sender
// writes it. base64 decoding skips line breaks, so comparing decoded bytes
// accepted "v1,g0hM\n9Ss..." as well; the signature as written is compared now.
func TestVerifyValuesSpelling(t *testing.T) {
	v, _ := NewVerifier(0, vecSecret)
	ts := strconv.FormatInt(vecTS, 10)
	for _, sig := range []string{
		vecSig[:10] + "\n" + vecSig[10:],
		vecSig[:10] + "\r" + vecSig[10:],
		strings.TrimSuffix(vecSig, "="),
		vecSig + "=",
	} {
		if err := v.VerifyValues(vecID, ts, sig, []byte(vecBody), vecNow); !errors.Is(err, ErrNoMatch) {
			t.Errorf("VerifyValues(sig=%q) = %v, want ErrNoMatch", sig, err)
		}
	}
}

// TestLongID: an id longer than the pooled scratch still signs and
// verifies, and the next ordinary message is unaffected.
func TestLongID(t *testing.T) {
	s, _ := NewSigner(vecSecret)
	v, _ := NewVerifier(0, vecSecret)
	ts := strconv.FormatInt(vecTS, 10)
	long := strings.Repeat("i", 5000)
	for _, id := range []string{long, vecID, long[:100], vecID} {
		sig := s.Signature(id, vecTS, []byte(vecBody))
		if err := v.VerifyValues(id, ts, sig, []byte(vecBody), vecNow); err != nil {
			t.Fatalf("id of %d bytes: %v", len(id), err)
		}
		if id == vecID && sig != vecSig {
			t.Fatalf("after a long id, signature = %q, want %q", sig, vecSig)
		}
	}
}

// TestNoAllocations: signing and verifying run per request in the load
// generator, the sender and the receiver; they must not allocate.
func TestNoAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items at random")
	}
	s, _ := NewSigner(vecSecret)
	v, _ := NewVerifier(0, "whsec_"+"c2VjcmV0LXR3by1mb3Itcm90YXRpb24=", vecSecret)
	body := []byte(vecBody)
	ts := strconv.FormatInt(vecTS, 10)
	buf := make([]byte, 0, 128)
	if n := testing.AllocsPerRun(100, func() { buf = s.AppendSignatures(buf[:0], vecID, vecTS, body) }); n != 0 {
		t.Errorf("AppendSignatures: %v allocations per call, want 0", n)
	}
	// The matching secret is the second: both are tried, none allocates.
	if n := testing.AllocsPerRun(100, func() {
		if err := v.VerifyValues(vecID, ts, "v1,bad "+vecSig, body, vecNow); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("VerifyValues: %v allocations per call, want 0", n)
	}
}

func TestRotation(t *testing.T) {
	oldS, newS := vecSecret, "whsec_"+"c2VjcmV0LXR3by1mb3Itcm90YXRpb24="
	signer, err := NewSigner(newS, oldS)
	if err != nil {
		t.Fatal(err)
	}
	sig := signer.Signature(vecID, vecTS, []byte(vecBody))
	if n := len(strings.Fields(sig)); n != 2 {
		t.Fatalf("want two signatures, got %q", sig)
	}
	h := headers(vecID, strconv.FormatInt(vecTS, 10), sig)
	for _, secret := range []string{oldS, newS} {
		v, err := NewVerifier(0, secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Verify(h, []byte(vecBody), vecNow); err != nil {
			t.Errorf("verifier with %s: %v", secret, err)
		}
	}
	// A verifier holding both secrets accepts a message signed with only the old one.
	both, _ := NewVerifier(0, newS, oldS)
	if err := both.Verify(headers(vecID, strconv.FormatInt(vecTS, 10), vecSig), []byte(vecBody), vecNow); err != nil {
		t.Errorf("verifier with both secrets: %v", err)
	}
	other, _ := NewVerifier(0, "whsec_"+"b3RoZXItc2VjcmV0LW5vdC1pbi11c2U=")
	if err := other.Verify(h, []byte(vecBody), vecNow); !errors.Is(err, ErrNoMatch) {
		t.Errorf("verifier with an unrelated secret: %v, want ErrNoMatch", err)
	}
}

func TestSetHeadersRoundTrip(t *testing.T) {
	s, _ := NewSigner(vecSecret)
	v, _ := NewVerifier(time.Minute, vecSecret)
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	h := http.Header{}
	s.SetHeaders(h, "msg_1", at, []byte(`{"a":1}`))
	if err := v.Verify(h, []byte(`{"a":1}`), at.Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(h, []byte(`{"a":1}`), at.Add(2*time.Minute)); !errors.Is(err, ErrTimestampTooOld) {
		t.Fatalf("got %v, want too old", err)
	}
	if !IsTimestampError(v.Verify(h, []byte(`{"a":1}`), at.Add(-2*time.Minute))) {
		t.Fatal("too-new timestamp should be a timestamp error")
	}
}

func TestBadSecrets(t *testing.T) {
	for _, s := range []string{"", "whsec_", "whsec_not base64!", "whsec_===="} {
		if _, err := ParseSecret(s); !errors.Is(err, ErrInvalidSecret) {
			t.Errorf("ParseSecret(%q) = %v, want ErrInvalidSecret", s, err)
		}
	}
	if _, err := NewSigner(); err == nil {
		t.Error("NewSigner with no secret should fail")
	}
	if _, err := NewVerifier(0); err == nil {
		t.Error("NewVerifier with no secret should fail")
	}
	sec, _ := ParseSecret(vecSecret)
	if sec.String() != vecSecret {
		t.Errorf("String() = %q, want %q", sec.String(), vecSecret)
	}
}

// FuzzVerify feeds arbitrary headers and bodies to Verify: it must never
// panic, and it must never accept a message whose signature is not the HMAC
// of exactly that id, timestamp and body.
func FuzzVerify(f *testing.F) {
	f.Add(vecID, strconv.FormatInt(vecTS, 10), vecSig, []byte(vecBody), int64(0))
	f.Add(vecID, "1614265330", "v1,", []byte("{}"), int64(10))
	f.Add("", "-1", "v1,a v2,b  v1,,", []byte{0xff}, int64(-1<<40))
	f.Add("x", "99999999999999999999", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= ", []byte(vecBody), int64(1<<62))
	v, _ := NewVerifier(0, vecSecret)
	sec, _ := ParseSecret(vecSecret)
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte, skew int64) {
		now := vecNow.Add(time.Duration(skew))
		err := v.VerifyValues(id, ts, sig, body, now)
		if err != nil {
			return
		}
		// Accepted: one of the v1 signatures must be the true one.
		n, perr := strconv.ParseInt(ts, 10, 64)
		if perr != nil {
			t.Fatalf("accepted an unparseable timestamp %q", ts)
		}
		want := sec.Sign(id, n, body)
		found := false
		for _, part := range strings.Split(sig, " ") {
			if part == want {
				found = true
			}
		}
		if !found {
			t.Fatalf("accepted id=%q ts=%q sig=%q body=%q; true signature is %q", id, ts, sig, body, want)
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	v, _ := NewVerifier(0, vecSecret)
	body := []byte(strings.Repeat("x", 1024))
	s, _ := NewSigner(vecSecret)
	sig := s.Signature(vecID, vecTS, body)
	ts := strconv.FormatInt(vecTS, 10)
	b.ReportAllocs()
	for b.Loop() {
		if err := v.VerifyValues(vecID, ts, sig, body, vecNow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendSignatures(b *testing.B) {
	s, _ := NewSigner(vecSecret)
	body := []byte(strings.Repeat("x", 1024))
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = s.AppendSignatures(buf[:0], vecID, vecTS, body)
	}
}
