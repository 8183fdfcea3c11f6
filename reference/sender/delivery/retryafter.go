package delivery

import (
	"strconv"
	"strings"
	"time"
)

// ParseRetryAfter reads a Retry-After value, either delay-seconds ("120")
// or an HTTP date ("Wed, 21 Oct 2015 07:28:00 GMT"), as a duration from
// now. A date in the past means "now" (0, true); anything unreadable is
// (0, false).
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs < 0 {
			return 0, false
		}
		const maxSecs = int64(1<<63-1) / int64(time.Second)
		if secs > maxSecs {
			secs = maxSecs
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := parseHTTPDate(v)
	if err != nil {
		return 0, false
	}
	if d := t.Sub(now); d > 0 {
		return d, true
	}
	return 0, true
}

// parseHTTPDate reads the three date formats HTTP/1.1 allows (RFC 9110
// 5.6.7), as net/http's ParseTime does; this package must not import
// net/http.
func parseHTTPDate(v string) (time.Time, error) {
	var err error
	for _, layout := range []string{"Mon, 02 Jan 2006 15:04:05 GMT", time.RFC850, time.ANSIC} {
		var t time.Time
		if t, err = time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}
