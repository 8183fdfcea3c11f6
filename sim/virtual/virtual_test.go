package virtual_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookrig/hookrig/loadgen"
	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim"
	"github.com/hookrig/hookrig/sim/internal/simtest"
	"github.com/hookrig/hookrig/sim/plan"
	"github.com/hookrig/hookrig/sim/verdict"
	"github.com/hookrig/hookrig/sim/virtual"
)

func simulate(t *testing.T, s *scenarios.Scenario) *verdict.Result {
	t.Helper()
	res, _, err := sim.RunVirtual(context.Background(), s, virtual.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func yamlScenario(t *testing.T, yaml string) *scenarios.Scenario {
	t.Helper()
	s, err := scenarios.Parse([]byte(yaml), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The same seed gives the same run, byte for byte; another seed gives
// another run.
func TestVirtualIsDeterministic(t *testing.T) {
	for _, name := range []string{"flaky-5xx", "sender-crash", "reorder", "slow-receiver-timeouts"} {
		t.Run(name, func(t *testing.T) {
			s := simtest.Builtin(t, name)
			a, b := simulate(t, s), simulate(t, s)
			b.WallTime, b.SpeedUp = time.Hour, 99 // how fast it went is not part of the result
			ja, jb := simtest.JSON(t, a), simtest.JSON(t, b)
			if !bytes.Equal(ja, jb) {
				t.Fatalf("two runs of seed %d differ:\n%s\n---\n%s", s.Seed, ja, jb)
			}
			if a.TraceHash == "" || !bytes.Contains(ja, []byte(`"trace_hash": "`+a.TraceHash+`"`)) ||
				!bytes.Contains(ja, []byte(`"seed": `)) {
				t.Errorf("the JSON must carry the seed and the trace hash %q", a.TraceHash)
			}
			other := *s
			other.Seed = s.Seed + 1000
			c := simulate(t, &other)
			if c.TraceHash == a.TraceHash || bytes.Equal(simtest.JSON(t, c), ja) {
				t.Fatalf("seeds %d and %d gave the same run (trace %s)", s.Seed, other.Seed, a.TraceHash)
			}
		})
	}
	// What differs between seeds is what the seed draws: here the faults.
	s := simtest.Builtin(t, "flaky-5xx")
	seen := map[int64]bool{}
	for seed := range uint64(4) {
		s.Seed = seed + 1
		seen[simulate(t, s).Attempts.Total] = true
	}
	if len(seen) < 2 {
		t.Errorf("four seeds of flaky-5xx made the same number of attempts: %v", seen)
	}
}

// Known answers: scenarios whose faults are fully determined give exact
// counts.
func TestVirtualKnownAnswers(t *testing.T) {
	const load = `
load:
  phases:
    - {name: steady, pacer: constant:50, duration: 4s}
`
	// Three deliveries in ten held up to a second, over five keys.
	const holds = `
faults:
  - {name: hold, probability: 0.3, fault: {type: reorder, distribution: uniform, min: 100ms, max: 1s}}
load:
  keys: 5
  phases:
    - {name: steady, pacer: constant:50, duration: 4s}
`
	cases := []struct {
		name  string
		yaml  string
		check func(t *testing.T, r *verdict.Result)
	}{
		{"every first attempt 503", `name: first-503
sender:
  policy: {backoff: {base: 100ms, factor: 2, cap: 1s}, max_attempts: 5}
faults:
  - {name: first, match: attempt == 1, fault: {type: status, code: 503}}
` + load, func(t *testing.T, r *verdict.Result) {
			e := r.Events
			if e.Accepted != 200 || e.Delivered != 200 || r.Attempts.Total != 400 || r.Attempts.Failed != 200 ||
				r.Attempts.Faulted != 200 || r.Attempts.PerEvent.Max != 2 || e.Duplicated != 0 {
				t.Errorf("accepted %d, delivered %d, attempts %d (failed %d, faulted %d, max %d per event), duplicated %d; want 200, 200, 400 (200, 200, 2), 0",
					e.Accepted, e.Delivered, r.Attempts.Total, r.Attempts.Failed, r.Attempts.Faulted, r.Attempts.PerEvent.Max, e.Duplicated)
			}
		}},
		{"every first ack lost", `name: acks
sender:
  policy: {backoff: {base: 100ms, factor: 2, cap: 1s}, max_attempts: 5}
faults:
  - {name: lost, match: attempt == 1, fault: {type: ack_lost}}
` + load, func(t *testing.T, r *verdict.Result) {
			e := r.Events
			if e.Duplicated != 200 || e.DuplicateDeliveries != 200 || r.Receipts.Deduplicated != 200 || e.Lost != 0 || r.Attempts.Total != 400 {
				t.Errorf("duplicated %d (%d extra, %d caught by the receiver), lost %d, attempts %d; want 200 (200, 200), 0, 400",
					e.Duplicated, e.DuplicateDeliveries, r.Receipts.Deduplicated, e.Lost, r.Attempts.Total)
			}
		}},
		{"copies", `name: copies
faults:
  - {name: dup, match: attempt == 1, fault: {type: duplicate, copies: 3, gap: 10ms}}
` + load, func(t *testing.T, r *verdict.Result) {
			e := r.Events
			if e.Duplicated != 200 || e.DuplicateDeliveries != 400 || r.Attempts.Total != 200 || r.Receipts.Total != 600 {
				t.Errorf("duplicated %d (%d extra), attempts %d, receipts %d; want 200 (400), 200, 600",
					e.Duplicated, e.DuplicateDeliveries, r.Attempts.Total, r.Receipts.Total)
			}
		}},
		{"blackhole until the attempt timeout", `name: hole
sender:
  policy: {attempt_timeout: 1s, backoff: {base: 100ms, factor: 2, cap: 1s}, max_attempts: 5, concurrency: 128}
faults:
  - {name: hole, match: attempt == 1, fault: {type: blackhole}}
` + load, func(t *testing.T, r *verdict.Result) {
			d := r.Latency.Delivery
			if r.Attempts.Total != 400 || d.Min < 1000 || d.Max > 1200 || r.Events.Duplicated != 0 {
				t.Errorf("attempts %d, delivery %v–%v ms, duplicated %d; want 400, within 1 s + the first backoff (100 ms), 0",
					r.Attempts.Total, d.Min, d.Max, r.Events.Duplicated)
			}
		}},
		{"the answer comes after the timeout: a duplicate", `name: late
sender:
  policy: {attempt_timeout: 1s, backoff: {base: 100ms, factor: 2, cap: 1s}, max_attempts: 5, concurrency: 128}
faults:
  - {name: late, match: attempt == 1, fault: {type: latency, apply: response, delay: 2s}}
` + load, func(t *testing.T, r *verdict.Result) {
			e := r.Events
			if e.Duplicated != 200 || r.Attempts.Total != 400 || r.Latency.Delivery.Max > 10 {
				t.Errorf("duplicated %d, attempts %d, delivery max %v ms; want 200, 400, the first (timed out) attempt's receipt",
					e.Duplicated, r.Attempts.Total, r.Latency.Delivery.Max)
			}
		}},
		{"truncated and slow bodies still count by their status", `name: bodies
sender:
  policy: {concurrency: 256}
faults:
  - {name: cut, match: attempt == 1 && event_id endsWith "0", fault: {type: truncate, bytes: 3}}
  - {name: slow, match: attempt == 1, fault: {type: slow_body, rate: 100}}
` + load, func(t *testing.T, r *verdict.Result) {
			if r.Attempts.Total != 200 || r.Attempts.Failed != 0 || r.Attempts.Faulted != 200 {
				t.Errorf("attempts %d (failed %d, faulted %d); want 200 (0, 200)", r.Attempts.Total, r.Attempts.Failed, r.Attempts.Faulted)
			}
		}},
		{"processing before the ack fails", `name: before
sender:
  policy: {backoff: {base: 100ms, factor: 2, cap: 1s}, max_attempts: 20}
receiver:
  processing: {duration: 5ms, failure_ratio: 0.3, before_ack: true}
` + load, func(t *testing.T, r *verdict.Result) {
			e, rc := r.Events, r.Receipts
			if e.Delivered != 200 || e.Duplicated != 0 || rc.Rejected == 0 || r.Attempts.Failed != rc.Rejected ||
				r.Attempts.Total != 200+rc.Rejected {
				t.Errorf("delivered %d, duplicated %d, receipts rejected %d, attempts %d (failed %d); want every 500 a failed attempt and a retry",
					e.Delivered, e.Duplicated, rc.Rejected, r.Attempts.Total, r.Attempts.Failed)
			}
		}},
		{"ordered keys are never reordered", `name: ordered
sender:
  policy: {ordered: true, concurrency: 128}
` + holds, func(t *testing.T, r *verdict.Result) {
			if r.Events.Reordered != 0 || r.Events.Delivered != 200 || r.Ordering.Keys != 5 {
				t.Errorf("reordered %d, delivered %d over %d keys; want 0, 200, 5", r.Events.Reordered, r.Events.Delivered, r.Ordering.Keys)
			}
		}},
		{"unordered keys are", `name: unordered
sender:
  policy: {concurrency: 128}
` + holds, func(t *testing.T, r *verdict.Result) {
			if r.Events.Reordered == 0 {
				t.Error("nothing reordered")
			}
		}},
		{"Retry-After is honoured, once, and pauses a limiting endpoint", `name: ra
sender:
  policy: {backoff: {base: 50ms, factor: 2, cap: 1s}, retry_after_max: 5s, max_attempts: 5, breaker: {failures: 0}}
faults:
  - {name: rl, match: attempt == 1, fault: {type: status, code: 429, headers: {Retry-After: 2}}}
` + load, func(t *testing.T, r *verdict.Result) {
			// Every first attempt in the load window is refused: a run of
			// 429s, so the whole endpoint waits the Retry-After
			// (delivery.Flow) and the events due meanwhile are not sent
			// to be refused. An event waits at most its own Retry-After
			// and one pause of the endpoint.
			d := r.Latency.Delivery
			if r.Events.Delivered != 200 || r.Attempts.PerEvent.Max != 2 || r.Attempts.Total >= 400 || r.Attempts.Failed == 0 ||
				d.Max > 4500 {
				t.Errorf("delivered %d, attempts %d (%d failed, at most %d per event), delivery max %v ms; want 200, fewer than 400 (a pause spares attempts), 2, within 2 × 2 s and a bit",
					r.Events.Delivered, r.Attempts.Total, r.Attempts.Failed, r.Attempts.PerEvent.Max, d.Max)
			}
			if d.P50 < 2000 {
				t.Errorf("delivery p50 %v ms: most events waited at least the Retry-After", d.P50)
			}
		}},
		{"the breaker holds back attempts during an outage", `name: breaker
sender:
  policy: {backoff: {base: 100ms, factor: 2, cap: 1s}, max_attempts: 100, breaker: {failures: 5, cooldown: 1s}}
faults:
  - {name: down, fault: {type: down}, after: 1s, for: 2s}
` + load, func(t *testing.T, r *verdict.Result) {
			w := r.Faults[0]
			// 5 failures open it; then one probe a second (cooldown 1 s)
			// until the window closes; attempts already claimed when it
			// opened finish as well.
			if w.Attempts < 5 || w.Attempts > 5+3+2 || r.Events.Lost != 0 || r.Events.Delivered != 200 {
				t.Errorf("%d attempts in the 2 s window, lost %d, delivered %d; want 5 to 10, 0, 200", w.Attempts, r.Events.Lost, r.Events.Delivered)
			}
		}},
		{"a drain that times out leaves events pending, not lost", `name: stuck
drain: {timeout: 2s, keep_faults: true}
sender:
  policy: {backoff: {base: 100ms, factor: 2, cap: 1s}, max_attempts: 100, breaker: {failures: 0}}
faults:
  - {name: down, fault: {type: down}, after: 2s}
` + load, func(t *testing.T, r *verdict.Result) {
			e := r.Events
			if !r.Run.DrainTimedOut || e.Pending == 0 || e.Lost != 0 || e.Pending+e.Delivered != e.Accepted || r.Run.EndS != 6 {
				t.Errorf("timed out %v, pending %d, lost %d, delivered %d of %d, end %v s; want pending, none lost, end at 6 s",
					r.Run.DrainTimedOut, e.Pending, e.Lost, e.Delivered, e.Accepted, r.Run.EndS)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.check(t, simulate(t, yamlScenario(t, c.yaml)))
		})
	}
}

// A 410 disables the endpoint: what was pending is dead-lettered, new
// events are refused, nothing more is attempted.
func TestVirtualGone(t *testing.T) {
	r := simulate(t, simtest.Builtin(t, "gone-410"))
	e := r.Events
	if e.Lost != 0 || e.Pending != 0 || e.DeadLettered == 0 || e.Delivered+e.DeadLettered != e.Accepted || r.Load.Rejected == 0 ||
		r.Load.Sent != e.Accepted+r.Load.Rejected || r.Attempts.Total != e.Accepted {
		t.Errorf("%+v, load %+v, attempts %d", e, r.Load, r.Attempts.Total)
	}
	if len(r.DeadLetterReasons) == 0 || !strings.Contains(r.DeadLetterReasons[0].Reason, "410") {
		t.Errorf("reasons %+v", r.DeadLetterReasons)
	}
	for _, a := range r.Assertions {
		if !a.Passed {
			t.Errorf("%s: %s", a.Expr, a.Message)
		}
	}
}

// A crash cuts off the attempts in flight: the restarted sender reports
// them as interrupted and sends them again, and those the receiver had
// already got become duplicates. The answers here take 500 ms to come
// back, so the crash at 2.05 s catches exactly the five events sent in
// the half second before it (one every 100 ms, from 1.6 s to 2.0 s).
func TestVirtualCrashInterruptsAttemptsInFlight(t *testing.T) {
	r := simulate(t, yamlScenario(t, `name: crash
sender:
  policy: {backoff: {base: 100ms, factor: 2, cap: 1s}, max_attempts: 10}
  crashes:
    - {at: 2050ms, down: 1s}
faults:
  - {name: slow, fault: {type: latency, apply: response, delay: 500ms}}
load:
  phases:
    - {name: steady, pacer: constant:10, duration: 4s}
drain:
  keep_faults: true
`))
	e := r.Events
	if e.Lost != 0 || e.Pending != 0 || e.Duplicated != 5 || r.Attempts.Total != e.Accepted+5 || r.Attempts.Failed != 5 {
		t.Errorf("%+v, attempts %d (failed %d); want 5 duplicates, 5 interrupted attempts", e, r.Attempts.Total, r.Attempts.Failed)
	}
	// Ingest is refused while it is down (2.05 s to 3.07 s: the downtime
	// and the restart): the events due at 2.1 ... 3.0 s.
	if r.Load.Rejected != 10 || r.Load.Sent != 40 || e.Accepted != 30 {
		t.Errorf("load %+v, accepted %d; want 10 of 40 rejected", r.Load, e.Accepted)
	}
}

func TestVirtualRefusesWhatOnlyALiveRunCanDo(t *testing.T) {
	for _, extra := range []string{"receiver:\n  url: http://127.0.0.1:9/hook\n",
		"sender:\n  trigger: {url: \"http://127.0.0.1:9/emit\", body: \"{}\"}\n"} {
		s := yamlScenario(t, "name: mine\nload:\n  phases:\n    - {pacer: constant:1, duration: 1s}\n"+extra)
		_, _, err := sim.RunVirtual(context.Background(), s, virtual.Options{})
		if err == nil || !strings.Contains(err.Error(), "hookrig run") {
			t.Errorf("%q: %v", extra, err)
		}
	}
}

func TestVirtualStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := sim.RunVirtual(ctx, simtest.Builtin(t, "day-long-outage"), virtual.Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

func TestVirtualProgress(t *testing.T) {
	var reports []virtual.Progress
	_, st, err := sim.RunVirtual(context.Background(), simtest.Builtin(t, "outage-recovery"), virtual.Options{
		ProgressEvery: 5 * time.Second,
		Progress:      func(p virtual.Progress) { reports = append(reports, p) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) < 4 || !reports[len(reports)-1].Done || reports[0].Elapsed < 5*time.Second {
		t.Fatalf("reports %+v", reports)
	}
	last := reports[len(reports)-1]
	if last.Accepted != 1000 || last.Pending != 0 || last.Attempts != st.Attempts || st.Events == 0 || st.Virtual < 20*time.Second {
		t.Errorf("last report %+v, stats %+v", last, st)
	}
}

// dayLong is the built-in day-long outage at one event a second, so that
// it runs in a moment under the race detector: the same day, the same
// outage, the same schedule, 1/100 of the events.
func dayLong(t *testing.T) *scenarios.Scenario {
	s := simtest.Builtin(t, "day-long-outage")
	s.Load.Phases[0].Pacer = "constant:1"
	return s
}

// With a schedule that outlasts the outage nothing is lost, and every
// event makes exactly the attempts the schedule implies; with one that
// gives up four hours in, exactly the events whose whole schedule fits in
// the outage are dead-lettered.
func TestDayLongOutage(t *testing.T) {
	s := dayLong(t)
	r := simulate(t, s)
	if e := r.Events; e.Accepted != 86400 || e.Delivered != e.Accepted || e.Lost != 0 || e.DeadLettered != 0 || e.Pending != 0 {
		t.Fatalf("with Svix's schedule: %+v", e)
	}
	for _, a := range r.Assertions {
		if !a.Passed {
			t.Errorf("%s: %s", a.Expr, a.Message)
		}
	}
	perEvent, dead := impliedBySchedule(t, s, s.Sender.Policy.Schedule)
	if dead != 0 || !reflect.DeepEqual(r.Attempts.PerEvent.Counts, perEvent) {
		t.Errorf("attempts per event %v, want %v (the schedule's arithmetic)", r.Attempts.PerEvent.Counts, perEvent)
	}

	// Gives up 4 h in: 0, 5 s, 5 min, 30 min, 2 h and 1 h 24 min 55 s
	// after the first attempt, six attempts in all.
	schedule := []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, time.Hour + 24*time.Minute + 55*time.Second}
	p := *s.Sender.Policy
	p.Schedule, p.MaxAttempts = schedule, 0
	s.Sender.Policy = &p
	perEvent, want := impliedBySchedule(t, s, schedule)
	if want == 0 {
		t.Fatal("the schedule implies no dead letters: the test shows nothing")
	}
	r = simulate(t, s)
	e := r.Events
	if e.DeadLettered != want || e.Lost != 0 || e.Pending != 0 || e.Delivered+e.DeadLettered != e.Accepted ||
		!reflect.DeepEqual(r.Attempts.PerEvent.Counts, perEvent) {
		t.Fatalf("dead-lettered %d, want %d; attempts per event %v, want %v (the schedule's arithmetic); %+v",
			e.DeadLettered, want, r.Attempts.PerEvent.Counts, perEvent, e)
	}
	t.Logf("4 h schedule over a 6 h outage at 1 event/s: %d of %d events dead-lettered", e.DeadLettered, e.Accepted)
}

// impliedBySchedule works out, from the arrivals and the schedule alone,
// how many attempts each event makes and how many fail them all: attempt
// k of an event comes schedule[0] + ... + schedule[k-1] after it arrived,
// and fails while the down window is open. An attempt happens a little
// after its nominal time (ingest, commits, the network: well under a
// second); the arrivals are checked to be far enough from the window's
// edges that "a little" cannot change the count. It returns [attempts,
// events] pairs in attempts order, as Result.Attempts.PerEvent.Counts.
func impliedBySchedule(t *testing.T, s *scenarios.Scenario, schedule []time.Duration) ([][2]int64, int64) {
	t.Helper()
	_, faults := plan.Windows(s)
	if len(faults) != 1 || faults[0].Fault != "down" {
		t.Fatalf("expected one down window, got %+v", faults)
	}
	from, to := faults[0].Start, faults[0].End
	const slack = 100 * time.Millisecond // more than ingest, commits and network add up to
	pacer, err := plan.LoadPacer(s)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[int64]int64{}
	var dead int64
	for _, arrived := range loadgen.Arrivals(pacer, 0) {
		at, n := arrived, int64(0)
		for k, d := range schedule {
			at += d
			n = int64(k + 1)
			if (at < from && at+slack >= from) || (at < to && at+slack >= to) {
				t.Fatalf("attempt %d of the event due at %s comes too close to the window's edges for the count to be certain", n, arrived)
			}
			if at < from || at >= to {
				break // delivered
			}
			if k == len(schedule)-1 {
				dead++
			}
		}
		counts[n]++
	}
	var out [][2]int64
	for _, n := range slices.Sorted(maps.Keys(counts)) {
		out = append(out, [2]int64{n, counts[n]})
	}
	return out, dead
}

// The built-in as written: 8.64 million events. Too slow under the race
// detector (and for -short), so there it is left to the benchmark.
func TestDayLongOutageFullScale(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("8.64 million events: run without -race and -short")
	}
	s := simtest.Builtin(t, "day-long-outage")
	res, st, err := sim.RunVirtual(context.Background(), s, virtual.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := res.Events
	if e.Accepted != 8_640_000 || e.Delivered != e.Accepted || !res.Passed {
		t.Fatalf("%+v, passed %v", e, res.Passed)
	}
	t.Logf("%d attempts, %d kernel events, %s virtual", st.Attempts, st.Events, st.Virtual)
}

// A rule may read the webhook headers the sender sets (names from
// reference/webhook): here every first attempt, and only it, fails.
func TestVirtualRulesReadWebhookHeaders(t *testing.T) {
	r := simulate(t, yamlScenario(t, `name: first-attempt-fails
sender:
  policy: {backoff: {base: 100ms, factor: 2, cap: 1s}, max_attempts: 5}
faults:
  - {name: first, match: 'header("webhook-attempt") == "1" && header("webhook-id") == event_id && header("webhook-timestamp") != ""', fault: {type: status, code: 503}}
load:
  phases:
    - {name: steady, pacer: constant:10, duration: 2s}
`))
	e := r.Events
	if e.Accepted == 0 || e.Delivered != e.Accepted || r.Attempts.Total != 2*e.Accepted || r.Attempts.Failed != e.Accepted {
		t.Errorf("%+v, attempts %d (failed %d); want each event failed once, then delivered", e, r.Attempts.Total, r.Attempts.Failed)
	}
}

// The checker and the load's arrival plan run on goroutines of their own
// beside the event loop; the Result must not depend on where they run or
// on how often the loop waits for the checker: on one core with progress
// read every simulated 100 ms, the JSON is the one all cores and no
// progress give. The runs are long enough for the checker's batches and
// Refs to be used many times over.
func TestSameResultOnOneCore(t *testing.T) {
	for _, c := range []struct {
		name  string
		scale int
	}{{"sender-crash", 40}, {"mass-outage", 10}} {
		t.Run(c.name, func(t *testing.T) {
			s := faster(t, simtest.Builtin(t, c.name), c.scale)
			run := func(procs int, every time.Duration) ([]byte, int64) {
				if procs > 0 {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				}
				calls := 0
				opts := virtual.Options{}
				if every > 0 {
					opts.Progress, opts.ProgressEvery = func(virtual.Progress) { calls++ }, every
				}
				res, _, err := sim.RunVirtual(context.Background(), s, opts)
				if err != nil {
					t.Fatal(err)
				}
				if every > 0 && calls < 50 {
					t.Fatalf("%d progress calls: the loop hardly waited for the checker", calls)
				}
				res.WallTime, res.SpeedUp = 0, 0
				return simtest.JSON(t, res), res.Attempts.Total
			}
			want, attempts := run(0, 0)
			if attempts < 20000 {
				t.Fatalf("%d attempts: too few to go round the checker's batches", attempts)
			}
			if got, _ := run(1, 100*time.Millisecond); !bytes.Equal(got, want) {
				t.Fatalf("on one core with progress, the result differs:\n%s\n---\n%s", got, want)
			}
		})
	}
}
