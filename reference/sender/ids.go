package sender

import (
	"crypto/rand"
	"time"

	"github.com/hookrig/hookrig/reference/webhook"
)

// IDs are k-sortable, like ULIDs: 10 characters of milliseconds then 16
// random ones, in Crockford's base32. Sorting roughly by time keeps the
// outbox's id index appending near its end instead of dirtying random
// pages, and the 80 random bits keep ids unique across restarts and
// processes (which is why they come from crypto/rand, not the seeded
// source that drives jitter).
const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

func newID(prefix string, now time.Time) string {
	b := make([]byte, 0, len(prefix)+26)
	b = append(b, prefix...)
	ms := uint64(now.UnixMilli())
	for i := 9; i >= 0; i-- {
		b = append(b, crockford[(ms>>(5*uint(i)))&31])
	}
	var r [10]byte
	rand.Read(r[:])
	// 80 bits -> 16 base32 characters.
	var acc uint64
	bits := 0
	for _, x := range r {
		acc = acc<<8 | uint64(x)
		bits += 8
		for bits >= 5 {
			bits -= 5
			b = append(b, crockford[(acc>>uint(bits))&31])
		}
	}
	return string(b)
}

// NewSecret returns a fresh random Standard Webhooks secret ("whsec_"
// and 24 random bytes in base64).
func NewSecret() string {
	var key [24]byte
	rand.Read(key[:])
	return webhook.NewSecret(key[:]).String()
}
