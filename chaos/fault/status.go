package fault

import (
	"encoding/json"
	"fmt"
	"github.com/hookrig/hookrig/internal/httpstatus"
	"math/rand/v2"
	"strconv"
)

func init() { register("status", func() Fault { return new(Status) }) }

// Status answers without forwarding: a 503, a 429 with Retry-After, a 410
// Gone, a 301 with Location, or a 200 that acknowledges a webhook nobody
// received.
//
//	{"type": "status", "code": 429, "headers": {"Retry-After": "2"}, "body": "slow down"}
//
// Without "body" the answer says, in plain text, that hookrig made it up.
type Status struct {
	Code    int                    `json:"code"`              // the status, 200 to 599, required
	Body    *string                `json:"body,omitempty"`    // the body (default: a plain-text line saying hookrig injected the status)
	Headers map[string]HeaderValue `json:"headers,omitempty"` // header fields of the answer, name: value (e.g. Retry-After: 2)

	response Response
}

func (*Status) Type() string { return "status" }

func (s *Status) prepare() error {
	if s.Code < 200 || s.Code > 599 {
		return fmt.Errorf("code must be an HTTP status from 200 to 599, got %d", s.Code)
	}
	r, err := madeUpResponse(s.Code, s.Body, s.Headers)
	s.response = r
	return err
}

func (s *Status) Plan(*rand.Rand) Action {
	return Action{Answer: AnswerRespond, Response: s.response}
}

// madeUpResponse builds an answer the upstream never gave.
func madeUpResponse(code int, body *string, headers map[string]HeaderValue) (Response, error) {
	h := make(Header, len(headers)+1)
	for k, v := range headers {
		if !validHeaderName(k) {
			return Response{}, fmt.Errorf("header name %q is not a valid HTTP header name", k)
		}
		h.Set(k, string(v))
	}
	r := Response{Status: code, Header: h}
	if body != nil {
		r.Body = []byte(*body)
	} else {
		r.Body = fmt.Appendf(nil, "hookrig chaos: injected %d %s\n", code, httpstatus.Text(code))
		if h.Get("Content-Type") == "" {
			h.Set("Content-Type", "text/plain; charset=utf-8")
		}
	}
	return r, nil
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !isToken(k[i]) {
			return false
		}
	}
	return true
}

// HeaderValue is a header value in a rule file; numbers and booleans are
// taken as written, so YAML's `Retry-After: 1` means "1".
type HeaderValue string

func (v *HeaderValue) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*v = HeaderValue(s)
		return nil
	}
	var n json.Number
	if json.Unmarshal(b, &n) == nil {
		*v = HeaderValue(n.String())
		return nil
	}
	var t bool
	if json.Unmarshal(b, &t) == nil {
		*v = HeaderValue(strconv.FormatBool(t))
		return nil
	}
	return fmt.Errorf("header value %s: want a string or a number", b)
}
