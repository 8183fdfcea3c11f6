package receiver

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// Receipt is what the receiver records about one request to a webhook path:
// one JSON line in the journal, one element of GET /v1/receipts.
type Receipt struct {
	// Seq numbers receipts from 1, in the order they were journaled; it
	// carries on across restarts on the same journal file.
	Seq uint64 `json:"seq"`
	// ID is the webhook-id header (unverified for rejections).
	ID string `json:"id"`
	// Attempt is the webhook-attempt header hookrig's sender adds, 0 if
	// absent or unreadable.
	Attempt int `json:"attempt"`
	// At is when the request arrived.
	At time.Time `json:"at"`
	// Status is the HTTP status answered.
	Status int `json:"status"`
	// Verified says the signature and timestamp checked out.
	Verified bool `json:"verified"`
	// Duplicate says the webhook-id had been received (and acknowledged)
	// before, so it was not processed again.
	Duplicate bool `json:"duplicate"`
	// Error says briefly why the request was not acknowledged.
	Error string `json:"error,omitempty"`
}

// Acked reports whether the receipt acknowledged the webhook (a 2xx).
func (rc Receipt) Acked() bool { return rc.Status >= 200 && rc.Status < 300 }

// timeLayout is RFC 3339 with all nine digits of nanoseconds, so lines sort
// and align and no precision is dropped (time.RFC3339Nano trims zeros).
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// appendTime appends t in UTC as timeLayout does, byte for byte. It is
// written out by hand because AppendFormat, which reads its layout anew
// on every call, was half of appendJSON's cost and 3% of the receiver's
// CPU under load (docs/performance.md). Years outside 0..9999, which RFC
// 3339 cannot write, are left to AppendFormat.
func appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, timeLayout)
	}
	hour, minute, sec := t.Clock()
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, minute, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	b = append(b, '.')
	b = appendDigits(b, t.Nanosecond(), 9)
	return append(b, 'Z')
}

// appendDigits appends v (0 <= v < 10^width) in exactly width decimal
// digits, zero-padded.
func appendDigits(b []byte, v, width int) []byte {
	n := len(b) + width
	b = append(b, "000000000"[:width]...)
	for i := n - 1; v > 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return b
}

// appendJSON appends the receipt as one JSON line. It is written by hand
// because it runs for every request under the journal lock: it produces
// exactly what encoding/json would decode back (FuzzReceiptJSON checks), at
// a fraction of the cost and with no allocation.
func (rc *Receipt) appendJSON(b []byte) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, rc.Seq, 10)
	b = append(b, `,"id":`...)
	b = appendJSONString(b, rc.ID)
	b = append(b, `,"attempt":`...)
	b = strconv.AppendInt(b, int64(rc.Attempt), 10)
	b = append(b, `,"at":"`...)
	b = appendTime(b, rc.At)
	b = append(b, `","status":`...)
	b = strconv.AppendInt(b, int64(rc.Status), 10)
	b = append(b, `,"verified":`...)
	b = strconv.AppendBool(b, rc.Verified)
	b = append(b, `,"duplicate":`...)
	b = strconv.AppendBool(b, rc.Duplicate)
	if rc.Error != "" {
		b = append(b, `,"error":`...)
		b = appendJSONString(b, rc.Error)
	}
	return append(b, "}\n"...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes
// U+FFFD, as encoding/json does, so every line decodes.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// MarshalJSON writes the receipt exactly as its journal line (without the
// newline), so the API and the file agree to the nanosecond digit.
func (rc Receipt) MarshalJSON() ([]byte, error) {
	b := rc.appendJSON(make([]byte, 0, 160))
	return b[:len(b)-1], nil
}
