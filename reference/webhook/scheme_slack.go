package webhook

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Slack: X-Slack-Signature is "v0=" and the hex HMAC-SHA256 of
// "v0:<X-Slack-Request-Timestamp>:<body>", keyed by the app's signing
// secret (its bytes); the timestamp must be within five minutes.
// Slack sends no delivery or event id header, so the scheme has no id:
// Verify returns ID "", a receiver cannot deduplicate retries by id (Events
// API bodies carry "event_id"; pass --id-from json:event_id for those).
// Source: https://api.slack.com/authentication/verifying-requests-from-slack
// (basestring 'v0:' + timestamp + ':' + body; its worked example is checked
// in scheme_test.go).
const (
	SlackSignatureHeader = "X-Slack-Signature"
	SlackTimestampHeader = "X-Slack-Request-Timestamp"
	slackVersion         = "v0"
)

type slackScheme struct {
	keys      [][]byte
	tolerance time.Duration
}

func newSlackScheme(o Options) (Scheme, error) {
	keys, err := rawKeys("slack", o.Secrets)
	if err != nil {
		return nil, err
	}
	return &slackScheme{keys: keys, tolerance: o.Tolerance}, nil
}

func (*slackScheme) Name() string               { return "slack" }
func (*slackScheme) IDFrom() IDSource           { return IDSource{} }
func (*slackScheme) TimestampHeader() string    { return SlackTimestampHeader }
func (s *slackScheme) Tolerance() time.Duration { return s.tolerance }

// Sign signs with the first secret (one signature per header) and writes no
// id: Slack has none.
func (s *slackScheme) Sign(h HeaderSetter, _ string, at time.Time, body []byte) {
	ts := strconv.FormatInt(at.Unix(), 10)
	h.Set(SlackTimestampHeader, ts)
	h.Set(SlackSignatureHeader, slackVersion+"="+hexMAC(s.keys[0], []byte(slackVersion+":"+ts+":"), body))
}

func (s *slackScheme) Verify(h HeaderGetter, body []byte, now time.Time) (Verified, error) {
	v, err := required("slack", h, SlackSignatureHeader, SlackTimestampHeader)
	if err != nil {
		return Verified{}, err
	}
	sig, ts := v[0], v[1]
	if !strings.HasPrefix(sig, slackVersion+"=") {
		return Verified{}, &VerifyError{Scheme: "slack", Failure: BadFormat, Field: SlackSignatureHeader,
			Detail: fmt.Sprintf("%q does not start with v0=; want v0=<64 hex digits>", clip(sig))}
	}
	at, err := checkTimestamp("slack", SlackTimestampHeader, ts, now, s.tolerance)
	if err != nil {
		return Verified{}, err
	}
	for _, k := range s.keys {
		if equalString(slackVersion+"="+hexMAC(k, []byte(slackVersion+":"+ts+":"), body), sig) {
			return Verified{Timestamp: at}, nil
		}
	}
	return Verified{}, &VerifyError{Scheme: "slack", Failure: Mismatch, Field: SlackSignatureHeader,
		Detail: "want v0=<hex HMAC-SHA256 of \"v0:timestamp:body\"> keyed by the signing secret's bytes"}
}
