package scenarios

import (
	"strings"
	"testing"
	"time"
)

// The endpoint profile's assertions compile (EndpointAssertions panics
// otherwise) and judge reliability only.
func TestEndpointAssertions(t *testing.T) {
	as := EndpointAssertions()
	var exprs []string
	for _, a := range as {
		exprs = append(exprs, a.Expr)
	}
	if got := strings.Join(exprs, "; "); got != "lost == 0; dead_lettered == 0; dead_lettered_received == 0; pending == 0" {
		t.Errorf("endpoint profile %q", got)
	}
	s := &Scenario{Assertions: as}
	ok := s.Check(Env{Accepted: 10, Delivered: 10, Delivery: Latency{P99: time.Hour}, Attempts: Attempts{Amplification: 3}})
	bad := s.Check(Env{Accepted: 10, Delivered: 9, Pending: 1})
	for i := range as {
		if !ok[i].Passed {
			t.Errorf("%s failed a reliable run with slow answers: %s", ok[i].Expr, ok[i].Message)
		}
	}
	if bad[3].Passed {
		t.Errorf("%s passed with an event pending", bad[3].Expr)
	}
}

func TestParseAssertion(t *testing.T) {
	if a, err := ParseAssertion("  delivery.p99 < duration(\"2s\") "); err != nil || a.Expr != `delivery.p99 < duration("2s")` {
		t.Errorf("%+v, %v", a, err)
	}
	for src, want := range map[string]string{"": "empty assertion", "lots == 0": `assertion "lots == 0"`, "lost + 1": `assertion "lost + 1"`} {
		if _, err := ParseAssertion(src); err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: %v, want one line with %q", src, err, want)
		}
	}
}

// --duration scales the whole timeline, so a fault window keeps its place
// in the load.
func TestWithLoadDuration(t *testing.T) {
	s, err := Builtin("outage-recovery") // 20 s of load, down from 4 s for 8 s
	if err != nil {
		t.Fatal(err)
	}
	short, err := s.WithLoadDuration(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if short.LoadEnd() != 5*time.Second || short.Faults[0].After != time.Second || short.Faults[0].For != 2*time.Second ||
		short.Drain.Timeout != s.Drain.Timeout || s.LoadEnd() != 20*time.Second {
		t.Errorf("load %s, fault at %s for %s, drain %s; original load %s", short.LoadEnd(), short.Faults[0].After, short.Faults[0].For, short.Drain.Timeout, s.LoadEnd())
	}
	if _, err := s.WithLoadDuration(0); err == nil {
		t.Error("a zero duration was accepted")
	}
}
