package verdict

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// endpointRun feeds n accepted events, each with the given attempts (by
// status or transport word: "200", "500", "refused", ...), every attempt
// taking took, and a receipt for each 2xx.
func endpointRun(t *testing.T, target Target, took time.Duration, outcomes ...string) *Result {
	t.Helper()
	c := NewChecker(t0)
	for i, o := range outcomes {
		ev := id(i)
		if err := c.Accept(Accepted{ID: ev, Seq: uint64(i), At: at(0)}); err != nil {
			t.Fatal(err)
		}
		a := AttemptRec{ID: ev, N: 1, At: at(time.Millisecond), Duration: took}
		switch o {
		case "200":
			a.Status = 200
			c.Receipt(ReceiptRec{ID: ev, At: at(took), Status: 200, Verified: true})
		case "500":
			a.Status = 500
		default:
			a.Err = o
		}
		c.Attempt(a)
		state := StateDelivered
		if o != "200" {
			state = StatePending
		}
		if err := c.Final(Final{ID: ev, State: state}); err != nil {
			t.Fatal(err)
		}
	}
	return c.Result(RunInfo{Scenario: "e", Target: target})
}

func repeat(o string, n int) []string { return slices.Repeat([]string{o}, n) }

func TestDiagnose(t *testing.T) {
	yours := Target{Receiver: "http://127.0.0.1:3999/hooks", Sender: ReferenceTarget, AttemptTimeoutS: 15}
	ref := Target{Receiver: ReferenceTarget, Sender: ReferenceTarget, AttemptTimeoutS: 15}
	for _, tc := range []struct {
		name     string
		res      *Result
		findings []string
	}{
		{"down", endpointRun(t, yours, time.Millisecond, repeat("refused", 10)...),
			[]string{"Your endpoint refused every connection (10 attempts).", "100% of events (10) were still pending when the drain ended.", "No event was delivered."}},
		{"mixed transport", endpointRun(t, ref, time.Millisecond, "refused", "refused", "timeout"),
			[]string{"The receiver answered none of 3 attempts (2 refused, 1 timeout).", "100% of events (3) were still pending when the drain ended.", "No event was delivered."}},
		{"slow", endpointRun(t, yours, 2*time.Second, append(repeat("200", 3), repeat("timeout", 7)...)...),
			[]string{"Answers took 2.0 s at p50 against an attempt timeout of 15 s: 70% of events were still pending.",
				"70% of attempts timed out (after 15 s)."}},
		{"flaky", endpointRun(t, yours, time.Millisecond, append(repeat("200", 8), "500", "500")...),
			[]string{"1 in 5 attempts was answered 500.", "20% of events (2) were still pending when the drain ended."}},
		{"rare failures are not findings", endpointRun(t, yours, time.Millisecond, append(repeat("200", 99), "500")...),
			[]string{"1% of events (1) were still pending when the drain ended."}},
		{"healthy", endpointRun(t, ref, time.Millisecond, repeat("200", 10)...), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.res.Findings; !slices.Equal(got, tc.findings) && len(got)+len(tc.findings) > 0 {
				t.Errorf("findings\n%q\nwant\n%q", got, tc.findings)
			}
		})
	}
}

// The endpoint section leaves out what is not the endpoint's doing:
// injected faults and attempts the sender interrupted.
func TestEndpointLeavesOutInjectedFaults(t *testing.T) {
	c := NewChecker(t0)
	for i, a := range []AttemptRec{
		{Status: 200, Duration: 3 * time.Millisecond},
		{Status: 503, Fault: "status"},
		{Err: "reset", Fault: "reset"},
		{Err: "interrupted"},
		{Status: 404, Duration: time.Millisecond},
		{Err: "eof", Duration: time.Millisecond},
	} {
		a.ID, a.At = id(i), at(0)
		c.Attempt(a)
	}
	e := c.Result(RunInfo{}).Endpoint
	if e.Attempts != 3 || e.Answered != 2 || e.Response.Count != 2 || e.Response.Max != 3 {
		t.Errorf("endpoint %+v, want 3 attempts, 2 answered, max 3 ms", e)
	}
	want := []CauseCount{{"404", "4xx", 1}, {"truncated", "transport", 1}}
	if !slices.Equal(e.Failures, want) {
		t.Errorf("failures %+v, want %+v", e.Failures, want)
	}
}

// With WithAnswers the endpoint's answers come only from Answer: the
// attempts (what the sender saw, faults included) do not stand for them.
func TestEndpointFromAnswers(t *testing.T) {
	c := NewChecker(t0, WithAnswers())
	c.Attempt(AttemptRec{ID: id(1), At: at(0), Status: 502})
	c.Answer(Answer{At: at(0), Err: "refused"})
	e := c.Result(RunInfo{}).Endpoint
	if e.Attempts != 1 || len(e.Failures) != 1 || e.Failures[0].Cause != "refused" {
		t.Errorf("endpoint %+v, want the one refused answer", e)
	}
}

// Merged results add their endpoint sections and diagnose the sums.
func TestMergeEndpoint(t *testing.T) {
	yours := Target{Receiver: "http://127.0.0.1:3999/hooks", Sender: ReferenceTarget}
	a := endpointRun(t, yours, time.Millisecond, "200", "200", "200", "200", "500")
	b := endpointRun(t, yours, 4*time.Millisecond, "200", "200", "200", "200", "500")
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	e := m.Endpoint
	if e.Attempts != 10 || e.Answered != 10 || e.Response.Count != 10 || e.Response.Max != 4 ||
		!slices.Equal(e.Failures, []CauseCount{{"500", "5xx", 2}}) {
		t.Errorf("merged endpoint %+v", e)
	}
	if m.Target != yours || len(m.Findings) == 0 || !strings.HasPrefix(m.Findings[0], "1 in 5 attempts was answered 500") {
		t.Errorf("merged target %+v findings %q", m.Target, m.Findings)
	}
}
