package sim

import (
	"strings"
	"testing"
	"time"

	"github.com/hookrig/hookrig/scenarios"
)

func TestCheckEvaluatesScenarioAssertions(t *testing.T) {
	var f feed
	for i := range 100 {
		f.accept(Accepted{ID: id(i), Seq: uint64(i), At: at(0)})
		f.attempt(AttemptRec{ID: id(i), N: 1, At: at(0), Status: 503, Fault: "status"})
		f.attempt(AttemptRec{ID: id(i), N: 2, At: at(time.Second), Status: 200})
		if i != 0 {
			f.receipt(ok(id(i), 1500*time.Millisecond))
		}
	}
	r := f.check(t, RunInfo{Scenario: "s", End: 2 * time.Second, LoadSent: 104, LoadRejected: 4})
	var s scenarios.Scenario
	for _, src := range []string{
		"lost == 1 && lost_ratio == 0.01 && delivered_ratio == 0.99",
		`delivery.p50 == duration("1.5s") && delivery.max == duration("1.5s")`,
		"attempts.total == 200 && attempts.amplification == 2.0 && attempts.per_event.p99 == 2",
		"faults.injected == 100 && load.sent == 104 && load.rejected == 4",
		"lost == 0",
	} {
		a, err := scenarios.NewAssertion(src)
		if err != nil {
			t.Fatal(err)
		}
		s.Assertions = append(s.Assertions, a)
	}
	r.Check(&s)
	if len(r.Assertions) != 5 || r.Passed {
		t.Fatalf("assertions %+v passed %v", r.Assertions, r.Passed)
	}
	for _, a := range r.Assertions[:4] {
		if !a.Passed {
			t.Errorf("%s: %s", a.Expr, a.Message)
		}
	}
	if last := r.Assertions[4]; last.Passed || !strings.Contains(last.Message, "lost = 1") {
		t.Errorf("lost == 0: %+v, want a failure saying lost = 1", last)
	}
	r.SetAssertions(r.Assertions[:4])
	if !r.Passed {
		t.Error("SetAssertions with only passing assertions did not pass")
	}
}
