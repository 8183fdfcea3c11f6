package fault

// Header is the header of an answer a fault makes up, keyed in the
// canonical form net/http and fasthttp write ("Retry-After"), so whoever
// reads it (the proxy writing it, the simulator reading Retry-After) sees
// what a client would. It is a plain map rather than net/http's Header so
// that the catalogue links no networking code; the two convert to each
// other as they are.
type Header map[string][]string

// Get returns the first value of the named field ("" if absent); the name
// is matched case-insensitively.
func (h Header) Get(name string) string {
	if v := h[canonicalKey(name)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Set replaces the named field's values with value.
func (h Header) Set(name, value string) { h[canonicalKey(name)] = []string{value} }

// Headers is how a rule sees a request's header fields: Get returns the
// first value of the named field, matched case-insensitively, "" when
// absent. It is an interface, not a map, because the proxy's data path
// should not build a map per request: it passes a view of the header
// fasthttp already parsed, and net/http's Header (and Header above) fit as
// they are.
type Headers interface {
	Get(name string) string
}

// canonicalKey is a field name in canonical form ("content-type" →
// "Content-Type"), as net/textproto writes it: a name with a byte that is
// not a token character is left as it is.
func canonicalKey(s string) string {
	upper, canonical := true, true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isToken(c) {
			return s
		}
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			canonical = false
		}
		upper = c == '-'
	}
	if canonical {
		return s
	}
	b := []byte(s)
	upper = true
	for i, c := range b {
		switch {
		case upper && 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
		case !upper && 'A' <= c && c <= 'Z':
			b[i] = c - 'A' + 'a'
		}
		upper = c == '-'
	}
	return string(b)
}

// isToken reports whether c may appear in a header field name (RFC 9110
// tchar).
func isToken(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}
