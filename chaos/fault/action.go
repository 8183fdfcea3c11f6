package fault

import (
	"fmt"
	"time"
)

// Action is what happens on the wire for one request, as plain data with
// every random number already drawn. Faults plan Actions; the live Proxy
// executes them with no fault-specific code, and the simulator models them.
//
// Time runs from t0, the moment the proxy has read the whole request
// (headers and body). In order:
//
//  1. Refuse (Answer == AnswerRefuse): nothing else happens. The upstream
//     receives nothing. The client sees "connection refused": during a down
//     window the proxy's listener is closed, so new connections are refused
//     before any request exists; a request that still arrives on a
//     connection opened before the window gets a TCP RST at t0 instead.
//  2. Hold: the proxy waits Hold after t0. Nothing is forwarded or
//     answered meanwhile (latency before forwarding, reorder).
//  3. Forward: the upstream receives the request Forward times, unchanged
//     except for its Host header (the upstream's) and hop-by-hop
//     Connection handling. Copy 1 is sent at t0+Hold and its response is
//     the "upstream response". Copy k ≥ 2 is sent CopyGap after copy k-1
//     finished; copies 2..Forward run in the background and never delay the
//     client's answer. Forward 0: the upstream receives nothing.
//  4. Delay: after copy 1's response arrived (or at t0+Hold when nothing is
//     forwarded), the proxy waits Delay before answering. The answer starts
//     at A = t0 + Hold + (copy 1's round trip, if forwarded) + Delay.
//  5. Answer, at A:
//     - AnswerUpstream: copy 1's response (status, headers, body); if copy
//     1 failed at the transport level (refused, reset, timeout), a 502
//     with a text body naming the failure. With Forward 0 (never planned
//     by a built-in fault) it is that 502 too.
//     - AnswerRespond: Response instead, whatever the upstream said (a
//     status fault when Forward is 0, a lost acknowledgement when not).
//     - AnswerReset: a TCP RST (SO_LINGER 0, close) and no bytes; the
//     client's read fails with ECONNRESET.
//     - AnswerSilence: no bytes; the connection stays open until the client
//     closes it (its own timeout) or until A+MaxHold, when the proxy closes
//     it (FIN: the client reads EOF with no response).
//  6. Body pacing, for AnswerUpstream and AnswerRespond only:
//     - BodyRate > 0: the status line and headers (with the full
//     Content-Length) are written at A; the body follows in chunks of
//     c = max(1, BodyRate/10) bytes, chunk i (from 0) written at
//     A + i·c/BodyRate seconds; the connection is closed after the last
//     chunk. So the last byte leaves at A + (⌈len/c⌉-1)·c/BodyRate.
//     - Truncate: the client receives the headers (with the full
//     Content-Length) and only the first min(TruncateAfter, len(body)-1)
//     body bytes, then the connection is closed (FIN): the client reads an
//     unexpected EOF. An empty body is cut inside the header block instead
//     (the final CRLF is not sent). With BodyRate too, the cut bytes are
//     paced as above.
//     - Neither: the answer is written at once and the connection stays
//     open for keep-alive.
//
// The zero Action is not meaningful on its own; Pass() is the no-fault
// Action. Response.Header must be treated as read-only: a fault may hand
// the same map to every Action it plans.
type Action struct {
	Hold     time.Duration `json:"hold,omitempty"`
	Forward  int           `json:"forward"`
	CopyGap  time.Duration `json:"copy_gap,omitempty"`
	Delay    time.Duration `json:"delay,omitempty"`
	Answer   Answer        `json:"answer"`
	Response Response      `json:"response,omitzero"`
	// BodyRate is in bytes per second; 0 writes the body at once.
	BodyRate int `json:"body_rate,omitempty"`
	// Truncate cuts the answer short (see step 6); TruncateAfter is the
	// number of body bytes that still reach the client.
	Truncate      bool `json:"truncate,omitempty"`
	TruncateAfter int  `json:"truncate_after,omitempty"`
	// MaxHold bounds AnswerSilence.
	MaxHold time.Duration `json:"max_hold,omitempty"`
}

// Response is an answer the proxy makes up instead of the upstream's.
type Response struct {
	Status int    `json:"status"`
	Header Header `json:"header,omitempty"`
	Body   []byte `json:"body,omitempty"`
}

// Pass is the Action for a request no rule faults: forward once, answer
// with the upstream's response.
func Pass() Action { return Action{Forward: 1} }

// Answer is what the client gets back (step 5 of Action).
type Answer uint8

// The answers, see Action.
const (
	AnswerUpstream Answer = iota
	AnswerRespond
	AnswerReset
	AnswerSilence
	AnswerRefuse
)

var answerNames = [...]string{"upstream", "respond", "reset", "silence", "refuse"}

func (a Answer) String() string {
	if int(a) < len(answerNames) {
		return answerNames[a]
	}
	return fmt.Sprintf("answer(%d)", a)
}

// MarshalText writes the answer's name.
func (a Answer) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText reads an answer's name.
func (a *Answer) UnmarshalText(b []byte) error {
	for i, n := range answerNames {
		if n == string(b) {
			*a = Answer(i)
			return nil
		}
	}
	return fmt.Errorf("unknown answer %q", b)
}

// Validate reports an Action the proxy could not carry out as described.
func (a Action) Validate() error {
	switch {
	case a.Answer > AnswerRefuse:
		return fmt.Errorf("unknown answer %d", a.Answer)
	case a.Hold < 0 || a.Delay < 0 || a.CopyGap < 0 || a.MaxHold < 0:
		return fmt.Errorf("negative duration in %+v", a)
	case a.Forward < 0:
		return fmt.Errorf("negative forward count %d", a.Forward)
	case a.Answer == AnswerRespond && (a.Response.Status < 100 || a.Response.Status > 599):
		return fmt.Errorf("response status %d is not an HTTP status", a.Response.Status)
	case a.Answer == AnswerSilence && a.MaxHold <= 0:
		return fmt.Errorf("silence needs a positive max hold")
	case a.BodyRate < 0 || a.TruncateAfter < 0:
		return fmt.Errorf("negative body rate or truncation")
	}
	return nil
}
