package sim_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hookrig/hookrig/chaos/fault"
	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim"
	"github.com/hookrig/hookrig/sim/internal/simtest"
	"github.com/hookrig/hookrig/sim/live"
	"github.com/hookrig/hookrig/sim/verdict"
	"github.com/hookrig/hookrig/sim/virtual"
)

func shortBuiltin(name string) func(*testing.T) *scenarios.Scenario {
	return func(t *testing.T) *scenarios.Scenario { return simtest.Builtin(t, name).Shortened(0.3) }
}

// The same scenario live and in virtual time must agree (issue 6): lost
// and dead-lettered equal; duplicates, attempts per event and retry
// amplification within 10%; delivery p50 and p99 within 25%, unless the
// live figure is among the undelayed deliveries (see below).
//
// Each scenario runs live in a short version, to keep the test near 50
// seconds: seven built-ins at 30% of their timeline (rates, policies and
// faults as written), outage-recovery with most of its events in the
// outage, and a short scenario whose receiver processes before the ack.
// The model's constants describe a machine (DefaultModel, a quiet 2-core
// box); this one may be slower (the race detector, other tests in
// parallel), so the model is first scaled to the live run's undelayed
// deliveries (CalibrateModel: one factor). In the four built-ins most
// events are not delayed, so their median is that calibration's; the
// rest — the tails, the counts, attempts per event, amplification, and
// in the outage-heavy run the median too — is what the policy and the
// faults decide, and is predicted, not fitted.
func TestAgreementWithLiveRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nine scenarios live (about 50 s)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	versions := map[string]func(*testing.T) *scenarios.Scenario{
		"rate-limited-429": shortBuiltin("rate-limited-429"),
		"outage-recovery":  shortBuiltin("outage-recovery"),
		"latency-spike":    shortBuiltin("latency-spike"),
		"reorder":          shortBuiltin("reorder"),
		// The paths the live dispatcher and the model share through
		// delivery.Settle and delivery.Recover: a crash's interrupted
		// attempts, and a 410 disabling the endpoint.
		"sender-crash": shortBuiltin("sender-crash"),
		"gone-410":     shortBuiltin("gone-410"),
		"outage-recovery-mostly-down": func(t *testing.T) *scenarios.Scenario {
			// 1 s before, 4 s down, 1 s after: two thirds of the events
			// wait out the outage.
			s := simtest.Builtin(t, "outage-recovery").Shortened(0.5)
			s.Load.Phases[0].Start, s.Load.Phases[0].Duration = 0, time.Second
			s.Load.Phases[1].Start, s.Load.Phases[1].Duration = time.Second, 4*time.Second
			s.Load.Phases[2].Start, s.Load.Phases[2].Duration = 5*time.Second, time.Second
			f := &s.Faults[0]
			f.After, f.For = time.Second, 4*time.Second
			f.Rule.After, f.Rule.For = fault.Duration(f.After), fault.Duration(f.For)
			return s
		},
	}
	// The receiver's side of the shared code: its dedupe Window
	// deciding a retry after a lost ack is a duplicate (the chaos
	// Decider draws per webhook-id and attempt, and both runs name
	// events alike, so the same first attempts lose their ack), and the
	// Window's claim, commit and release when processing comes before
	// the ack and sometimes fails.
	versions["ack-lost-duplicates"] = shortBuiltin("ack-lost-duplicates")
	versions["processing-before-ack"] = func(t *testing.T) *scenarios.Scenario {
		// 450 events; one processing step in ten fails (500, the claim
		// released, the retry fresh). Processing (5 ms) ends long before
		// any retry (backoff from 50 ms) and any attempt timeout, so no
		// request finds a claim still in flight: no duplicates.
		return simtest.Parse(t, "processing-before-ack", `
sender:
  policy:
    backoff: {base: 50ms, factor: 2, cap: 200ms}
    max_attempts: 20
receiver:
  processing: {duration: 5ms, failure_ratio: 0.1, before_ack: true}
load:
  phases:
    - {name: steady, pacer: constant:150, duration: 3s}
drain:
  timeout: 10s
`)
	}
	// For these the test holds live and virtual to what the shared steps
	// decide, not to timing: at these sizes p99 is one or two samples of
	// a loaded machine's noise, so the latency rows are logged only.
	// Every check names the decision that makes it hold:
	//   - lost and dead_lettered: equal (Settle and the Window decide
	//     them; nothing here depends on when an attempt ends).
	//   - attempts per event and amplification: within Compare's 10%.
	//     In processing-before-ack the failures are drawn live in arrival
	//     order and virtually per (event, request) from other streams, so
	//     the two runs fail different (but equally many, in expectation)
	//     steps: attempts per event is geometric, 1/(1-0.1) = 1.11 with a
	//     standard deviation of 0.35, so over 450 events each run's mean
	//     is within 1.5% (one sigma) and their difference 2.1%: 10% is
	//     near five sigma.
	//   - duplicates, where a decision makes them exact: in
	//     ack-lost-duplicates every lost ack (a Decider draw per
	//     webhook-id and attempt, the same in both runs) is exactly one
	//     duplicate, so duplicated and duplicate_deliveries are equal; in
	//     processing-before-ack there are none (see above). A crash's
	//     duplicates count the attempts the machine had in flight at that
	//     instant, which the model's timing sets, not a decision (5 to 12
	//     live against 5 virtual, five runs on a box with load 16): not
	//     checked.
	decisionsOnly := map[string]bool{"sender-crash": true, "gone-410": true,
		"ack-lost-duplicates": true, "processing-before-ack": true}
	decisionMetrics := map[string]bool{"lost": true, "dead_lettered": true,
		"attempts.per_event.mean": true, "attempts.amplification": true}
	exactDuplicates := map[string]bool{"ack-lost-duplicates": true, "processing-before-ack": true}
	// What the 410 dead-letters is what the sender held for the endpoint
	// at that instant, and those events were never attempted, so attempts
	// per event fall with them: the model's timing sets both, not a
	// decision (1 dead-lettered live and virtual on a quiet box; 4 live
	// against 1 with the box's deliveries 13× slower, 23 against 5 at 70×).
	// Both runs must dead-letter something and lose nothing (lost stays
	// judged).
	timingSet := map[string]map[string]bool{"gone-410": {"dead_lettered": true,
		"attempts.per_event.mean": true, "attempts.amplification": true}}
	// Each new path must be taken, or agreeing on it says nothing: lost
	// acks make duplicates, failed processing makes retries.
	exercised := map[string]func(live, virt *verdict.Result) bool{
		"ack-lost-duplicates": func(l, v *verdict.Result) bool { return l.Events.Duplicated > 0 && v.Events.Duplicated > 0 },
		"processing-before-ack": func(l, v *verdict.Result) bool {
			return l.Attempts.Total > l.Events.Accepted && v.Attempts.Total > v.Events.Accepted
		},
	}
	for _, name := range []string{"rate-limited-429", "outage-recovery", "latency-spike", "reorder", "outage-recovery-mostly-down",
		"sender-crash", "gone-410", "ack-lost-duplicates", "processing-before-ack"} {
		t.Run(name, func(t *testing.T) {
			s := versions[name](t)
			lr, err := sim.Run(ctx, s, live.Options{})
			if err != nil {
				t.Fatal(err)
			}
			model, err := sim.CalibrateModel(ctx, s, lr, virtual.DefaultModel())
			if err != nil {
				t.Fatal(err)
			}
			virt, _, err := sim.RunVirtual(ctx, s, virtual.Options{Model: &model})
			if err != nil {
				t.Fatal(err)
			}
			rows := sim.Compare(lr, virt)
			var b bytes.Buffer
			sim.WriteComparison(&b, rows)
			base, _ := sim.BaseLatency(lr)
			t.Logf("%s (model scaled ×%.2f to this machine: undelayed deliveries took %s live):\n%s",
				name, float64(model.Network)/float64(virtual.DefaultModel().Network), base, b.String())
			if ok := exercised[name]; ok != nil && !ok(lr, virt) {
				t.Errorf("the path under test was not taken (no duplicates, or no retries):\n%s", b.String())
			}
			if decisionsOnly[name] {
				for _, r := range rows {
					if timingSet[name][r.Metric] {
						if r.Live == 0 || r.Virtual == 0 {
							t.Errorf("%s: %g live, %g virtual; want both above 0:\n%s", r.Metric, r.Live, r.Virtual, b.String())
						}
						continue
					}
					if decisionMetrics[r.Metric] && !r.OK {
						t.Errorf("live and virtual disagree on %s (%g live, %g virtual):\n%s", r.Metric, r.Live, r.Virtual, b.String())
					}
					if exactDuplicates[name] && (r.Metric == "duplicated" || r.Metric == "duplicate_deliveries") && r.Live != r.Virtual {
						t.Errorf("live and virtual disagree on %s (%g live, %g virtual), which the shared decisions make exact:\n%s",
							r.Metric, r.Live, r.Virtual, b.String())
					}
				}
				return
			}
			// A live percentile that lies among the deliveries nothing
			// delayed is machine noise (Agreement.Noise, decided in
			// sim.Compare for this test and hookrig sim --compare alike):
			// on a loaded 2-core box the calibration's median and the
			// run's can be 30% apart (15 ms against 20 ms, outage-recovery
			// under a full go test ./...).
			//
			// When the calibration finds the machine more than 6× slower
			// than the model's default, the box is busy with other work
			// (×4.9–5.1 measured quiet under -race; ×7.9 with one other
			// build beside the suite, ×13–70 with three): its scheduling then sets the live
			// delivery times (outage-recovery's p50 102 ms live against
			// 7 ms virtual at ×7.9), so they are shown, not judged; the
			// counts and attempts a decision fixes still are.
			busy := float64(model.Network)/float64(virtual.DefaultModel().Network) > 6
			for _, r := range rows {
				if r.Noise {
					t.Logf("%s: %g ms live is among the undelayed deliveries: machine noise, not judged", r.Metric, r.Live)
				}
				if busy && strings.HasPrefix(r.Metric, "delivery.") {
					if !r.OK {
						t.Logf("%s: %g live, %g virtual on a busy machine: not judged", r.Metric, r.Live, r.Virtual)
					}
					continue
				}
				if !r.OK {
					t.Errorf("live and virtual disagree on %s (%g live, %g virtual):\n%s", r.Metric, r.Live, r.Virtual, b.String())
				}
			}
		})
	}
}
