// Package echo bounds what a server repeats back from a request. Anything
// a client sends (a header, a method, a path, an id) and a server puts
// into an answer, a journal line or a log is cut to a few dozen bytes
// with its real length stated, so that a request can never make the
// server write more than it read — or much more than a constant.
package echo

import (
	"strconv"
	"unicode/utf8"
)

// maxValue is how many bytes of a value are repeated before it is cut.
const maxValue = 64

// maxMessage bounds a whole message built around echoed values (an error
// text from a library that quotes its input in full).
const maxMessage = 256

// Quote returns s Go-quoted; past maxValue bytes only its first maxValue bytes (cut
// at a character boundary) followed by "…" and the full length:
// `"1234…" (1000000 bytes)`.
func Quote(s string) string {
	if len(s) <= maxValue {
		return strconv.Quote(s)
	}
	return strconv.Quote(cut(s, maxValue)+"…") + " (" + strconv.Itoa(len(s)) + " bytes)"
}

// Value returns s as it is up to maxValue bytes, else as Quote cuts it: for
// messages that name a short value bare ("method PUT not allowed") and
// must stay bounded for a long one.
func Value(s string) string {
	if len(s) <= maxValue {
		return s
	}
	return Quote(s)
}

// Message returns msg unchanged up to maxMessage bytes, else its first
// maxMessage bytes, "…" and the full length: the last guard for texts
// that embed a value without Quote.
func Message(msg string) string {
	if len(msg) <= maxMessage {
		return msg
	}
	return cut(msg, maxMessage) + "… (" + strconv.Itoa(len(msg)) + " bytes)"
}

// cut returns at most n bytes of s, not splitting a UTF-8 sequence.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && i > n-utf8.UTFMax && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}
