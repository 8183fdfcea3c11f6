package scenarios

import (
	"fmt"
	"strings"
)

// AsOneSender is s as virtual time models it: sender instances as one
// sender with all their workers (workersEach is the sender's default
// when the scenario leaves workers out), each crash of an instance as a
// crash of that one sender for the instance's downtime, and receiver
// instances as one receiver with one dedupe window. The note says what
// the model leaves out; for a scenario with one sender and one receiver
// it is s itself and no note.
func (s *Scenario) AsOneSender(workersEach int) (*Scenario, string) {
	n, m := s.Sender.SenderInstances(), s.Receiver.ReceiverInstances()
	if n == 1 && m == 1 {
		return s, ""
	}
	c := *s
	var parts []string
	if n > 1 {
		each := s.Sender.Workers
		if each <= 0 {
			each = workersEach
		}
		c.Sender.Workers = n * each
		parts = append(parts, fmt.Sprintf("the %d sender instances as one sender with their %d workers", n, c.Sender.Workers))
		if len(s.Sender.Crashes) > 0 {
			parts = append(parts, "a crash of one instance as a crash of that sender for its downtime "+
				"(every attempt in flight is interrupted and retried at the restart, not when its lease expires; "+
				"all ingest is refused while it is down, not one instance's share)")
		}
	}
	if m > 1 {
		parts = append(parts, fmt.Sprintf("the %d receiver instances as one receiver with one dedupe window (what their shared window in PostgreSQL gives them)", m))
	}
	return &c, "virtual time models " + strings.Join(parts, "; ") +
		"; PostgreSQL, leases and the round-robin balancers are not modelled: run the scenario live (hookrig run) for them"
}
