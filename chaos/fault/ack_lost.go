package fault

import (
	"fmt"
	"math/rand/v2"
)

func init() { register("ack_lost", func() Fault { return new(AckLost) }) }

// AckLost forwards the request, so the upstream processes the webhook, but
// the sender never learns it: it gets a made-up status instead of the
// upstream's 2xx ("answer": "status", default code 502), a TCP reset
// ("answer": "reset"), or no answer at all until its own timeout
// ("answer": "timeout", the proxy lets go after "max", default 30s). The
// sender retries, and the receiver sees a duplicate.
type AckLost struct {
	Answer string   `json:"answer,omitempty"` // what the sender gets instead of the upstream's answer: "status" (default), "reset" or "timeout"
	Code   int      `json:"code,omitempty"`   // the status for "answer": "status", 200 to 599 (default 502)
	Max    Duration `json:"max,omitempty"`    // for "answer": "timeout", when the proxy lets go (default 30s)

	response Response
}

func (*AckLost) Type() string { return "ack_lost" }

func (a *AckLost) prepare() error {
	switch a.Answer {
	case "":
		a.Answer = "status"
	case "status", "reset", "timeout":
	default:
		return fmt.Errorf(`answer must be "status", "reset" or "timeout", got %q`, a.Answer)
	}
	if a.Code == 0 {
		a.Code = 502
	}
	if a.Code < 200 || a.Code > 599 {
		return fmt.Errorf("code must be an HTTP status from 200 to 599, got %d", a.Code)
	}
	if a.Max == 0 {
		a.Max = Duration(defaultMaxHold)
	}
	r, err := madeUpResponse(a.Code, nil, nil)
	a.response = r
	return err
}

func (a *AckLost) Plan(*rand.Rand) Action {
	switch a.Answer {
	case "reset":
		return Action{Forward: 1, Answer: AnswerReset}
	case "timeout":
		return Action{Forward: 1, Answer: AnswerSilence, MaxHold: a.Max.D()}
	}
	return Action{Forward: 1, Answer: AnswerRespond, Response: a.response}
}
