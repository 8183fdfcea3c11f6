package delivery

import (
	"testing"
	"time"
)

func TestSplitShare(t *testing.T) {
	for _, c := range []struct {
		name    string
		split   Split
		suspect bool
		want    Share
	}{
		{"no suspects: the even split", Split{Workers: 64, Wanting: 20}, false, Share{Workers: 3, Contended: true}},
		{"alone, a suspect keeps every worker", Split{Workers: 64, Wanting: 1, Suspects: 1, SuspectsInflight: 32}, true, Share{Workers: 64}},
		{"nobody wants workers", Split{Workers: 64}, false, Share{Workers: 64}},
		{"two suspects share the budget", Split{Workers: 64, Wanting: 2, Suspects: 2}, true, Share{Workers: 8, Contended: true}},
		{"a healthy endpoint beside one suspect keeps the rest", Split{Workers: 64, Wanting: 2, Suspects: 1}, false, Share{Workers: 48, Contended: true}},
		{"a thousand suspects: one each, while the budget lasts", Split{Workers: 64, Wanting: 1010, Suspects: 1000, SuspectsInflight: 15}, true, Share{Workers: 1, Contended: true}},
		{"a thousand suspects: the budget is full", Split{Workers: 64, Wanting: 1010, Suspects: 1000, SuspectsInflight: 16}, true, Share{Workers: 1, Contended: true, Full: true}},
		{"a thousand suspects: the healthy split three quarters", Split{Workers: 64, Wanting: 1010, Suspects: 1000, SuspectsInflight: 16}, false, Share{Workers: 4, Contended: true}},
		{"five suspects beside fifteen healthy: as the even split", Split{Workers: 64, Wanting: 20, Suspects: 5}, false, Share{Workers: 3, Contended: true}},
		{"five suspects beside fifteen healthy: the suspect's part", Split{Workers: 64, Wanting: 20, Suspects: 5}, true, Share{Workers: 3, Contended: true}},
		{"one worker: a suspect may still have it", Split{Workers: 1, Wanting: 3, Suspects: 2}, true, Share{Workers: 1, Contended: true}},
		{"one worker, taken by a suspect", Split{Workers: 1, Wanting: 3, Suspects: 2, SuspectsInflight: 1}, true, Share{Workers: 1, Contended: true, Full: true}},
		{"a suspect not counted is counted", Split{Workers: 64, Wanting: 3}, true, Share{Workers: 16, Contended: true}},
	} {
		if got := c.split.Share(c.suspect); got != c.want {
			t.Errorf("%s: %+v.Share(%v) = %+v, want %+v", c.name, c.split, c.suspect, got, c.want)
		}
	}
	for _, w := range []int{1, 2, 3, 4, 8, 64, 1000} {
		if b := SuspectBudget(w); b < 1 || (w >= 2 && b > w/2) {
			t.Errorf("SuspectBudget(%d) = %d: at least one, and the healthy keep most", w, b)
		}
	}
}

func TestSuspectUntilItAnswers(t *testing.T) {
	now := flowT0
	for _, c := range []struct {
		name string
		outs []Outcome
		want bool
	}{
		{"new", nil, false},
		{"a timeout", []Outcome{{Err: ErrTimeout, Elapsed: 15 * time.Second}}, true},
		{"refused", []Outcome{{Err: ErrRefused}}, true},
		{"reset", []Outcome{{Err: ErrReset}}, true},
		{"closed before an answer", []Outcome{{Err: ErrEOF}}, true},
		{"a 503 is an answer", []Outcome{{Status: 503}}, false},
		{"a 429 is an answer", []Outcome{{Status: 429, RetryAfter: time.Second}}, false},
		{"answers again after timeouts", []Outcome{{Err: ErrTimeout}, {Err: ErrTimeout}, {Status: 500}}, false},
		{"answered, then silent", []Outcome{{Status: 200}, {Err: ErrTimeout}}, true},
		{"the sender's own stop says nothing", []Outcome{{Err: ErrTimeout}, {Err: ErrInterrupted}}, true},
		{"the sender's own stop, new", []Outcome{{Err: ErrInterrupted}}, false},
	} {
		ep := flowEndpoint(nil)
		for _, o := range c.outs {
			now = now.Add(time.Second)
			ep, _ = settle(t, ep, o, now)
		}
		if got := ep.Flow.Suspect(); got != c.want {
			t.Errorf("%s: Suspect = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestAdmitWithinTheSuspectsBudget(t *testing.T) {
	now := flowT0
	silent := flowEndpoint(nil)
	silent, _ = settle(t, silent, Outcome{Err: ErrTimeout, Elapsed: 15 * time.Second}, now)
	healthy := flowEndpoint(nil)
	full := Share{Workers: 1, Contended: true, Full: true}
	if ok, again, es := admitV(silent, 0, full, now); ok || !again.IsZero() || es.Flow != silent.Flow || es.Breaker != silent.Breaker {
		t.Errorf("suspect with the budget full: admitted %v, again %v, flow %+v; want refused until an attempt finishes, unchanged", ok, again, es.Flow)
	}
	if ok, _, _ := admitV(healthy, 0, full, now); !ok {
		t.Error("Full refused an endpoint that is not suspect")
	}
	if ok, _, _ := admitV(silent, 0, Share{Workers: 1, Contended: true}, now); !ok {
		t.Error("suspect refused with room in the budget")
	}
	// The breaker's probe is not taken by a refusal for the budget: the
	// endpoint asks again with its circuit as it was.
	probe := silent
	probe.Breaker = BreakerState{Phase: BreakerOpen, OpenUntil: now}
	if _, _, es := admitV(probe, 0, full, now); es.Breaker.Phase != BreakerOpen {
		t.Errorf("refused for the budget, the circuit moved to %v", es.Breaker.Phase)
	}
	// A paused suspect waits for its pause, not for the budget.
	paused := silent
	paused.Flow.PausedUntil = now.Add(time.Second)
	if _, again, _ := admitV(paused, 0, full, now); !again.Equal(now.Add(time.Second)) {
		t.Errorf("paused suspect: again %v, want its pause", again)
	}
}

// TestSuspectsCannotStarveTheHealthy replays a pick over a fleet: many
// suspect endpoints and a few healthy ones want workers; the suspects
// end with at most their budget, the healthy with the rest.
func TestSuspectsCannotStarveTheHealthy(t *testing.T) {
	now := flowT0
	const workers, silentN, healthyN = 64, 1000, 16
	var eps []Endpoint
	for i := range silentN + healthyN {
		ep := flowEndpoint(nil)
		if i < silentN {
			ep, _ = settle(t, ep, Outcome{Err: ErrTimeout, Elapsed: 15 * time.Second}, now)
		} else {
			ep, _ = settle(t, ep, Outcome{Status: 200}, now)
		}
		eps = append(eps, ep)
	}
	split := Split{Workers: workers, Wanting: len(eps), Suspects: silentN}
	inflight := make([]int, len(eps))
	total := 0
	RoundRobin(len(eps), 0, func(i int) bool {
		if total >= workers {
			return false
		}
		suspect := eps[i].Flow.Suspect()
		ok, _, es := admitV(eps[i], inflight[i], split.Share(suspect), now)
		eps[i] = es
		if !ok {
			return false
		}
		inflight[i]++
		total++
		if suspect {
			split.SuspectsInflight++
		}
		return true
	})
	healthy := 0
	for i := silentN; i < len(eps); i++ {
		healthy += inflight[i]
	}
	if split.SuspectsInflight != SuspectBudget(workers) || healthy != workers-SuspectBudget(workers) {
		t.Errorf("suspects hold %d, healthy %d; want %d and %d", split.SuspectsInflight, healthy, SuspectBudget(workers), workers-SuspectBudget(workers))
	}
}
