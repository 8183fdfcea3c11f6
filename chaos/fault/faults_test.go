package fault

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

func plan(t *testing.T, fault string) Action {
	t.Helper()
	f, err := Decode(json.RawMessage(fault))
	if err != nil {
		t.Fatalf("%s: %v", fault, err)
	}
	a := f.Plan(rand.New(rand.NewPCG(1, 2)))
	if err := a.Validate(); err != nil {
		t.Fatalf("%s planned an invalid action: %v", fault, err)
	}
	return a
}

// Every fault plans the wire behaviour its documentation promises.
func TestFaultPlans(t *testing.T) {
	cases := []struct {
		fault string
		want  Action
	}{
		{`{"type":"latency","delay":"250ms"}`, Action{Forward: 1, Hold: 250 * time.Millisecond}},
		{`{"type":"latency","delay":"250ms","apply":"response"}`, Action{Forward: 1, Delay: 250 * time.Millisecond}},
		{`{"type":"reset"}`, Action{Answer: AnswerReset}},
		{`{"type":"reset","when":"after"}`, Action{Forward: 1, Answer: AnswerReset}},
		{`{"type":"blackhole"}`, Action{Answer: AnswerSilence, MaxHold: 30 * time.Second}},
		{`{"type":"blackhole","max":"5s"}`, Action{Answer: AnswerSilence, MaxHold: 5 * time.Second}},
		{`{"type":"slow_body","rate":100}`, Action{Forward: 1, BodyRate: 100}},
		{`{"type":"truncate","bytes":10}`, Action{Forward: 1, Truncate: true, TruncateAfter: 10}},
		{`{"type":"ack_lost","answer":"reset"}`, Action{Forward: 1, Answer: AnswerReset}},
		{`{"type":"ack_lost","answer":"timeout","max":"3s"}`, Action{Forward: 1, Answer: AnswerSilence, MaxHold: 3 * time.Second}},
		{`{"type":"duplicate"}`, Action{Forward: 2}},
		{`{"type":"duplicate","copies":3,"gap":"50ms"}`, Action{Forward: 3, CopyGap: 50 * time.Millisecond}},
		{`{"type":"reorder","delay":"1s"}`, Action{Forward: 1, Hold: time.Second}},
		{`{"type":"down"}`, Action{Answer: AnswerRefuse}},
	}
	for _, c := range cases {
		if got := plan(t, c.fault); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s planned\n %+v, want\n %+v", c.fault, got, c.want)
		}
	}
	// Made-up answers.
	a := plan(t, `{"type":"status","code":429,"headers":{"Retry-After":"2"},"body":"slow down"}`)
	if a.Answer != AnswerRespond || a.Forward != 0 || a.Response.Status != 429 || a.Response.Header.Get("Retry-After") != "2" || string(a.Response.Body) != "slow down" {
		t.Errorf("status planned %+v", a)
	}
	a = plan(t, `{"type":"ack_lost"}`)
	if a.Answer != AnswerRespond || a.Forward != 1 || a.Response.Status != 502 {
		t.Errorf("ack_lost planned %+v", a)
	}
	if got := Types(); !slices.Equal(got, []string{"ack_lost", "blackhole", "down", "duplicate", "latency", "reorder", "reset", "slow_body", "status", "truncate"}) {
		t.Errorf("catalogue %v", got)
	}
}

// A drawn latency's observed median and p90 are within 10% of the
// configured ones (from Plan draws: nothing sleeps).
func TestLatencyDistributions(t *testing.T) {
	cases := []struct {
		fault       string
		median, p90 time.Duration // worked out by hand from the parameters
	}{
		{`{"type":"latency","distribution":"uniform","min":"100ms","max":"300ms"}`, 200 * time.Millisecond, 280 * time.Millisecond},
		// mean + 1.2816 sd
		{`{"type":"latency","distribution":"normal","mean":"200ms","stddev":"50ms"}`, 200 * time.Millisecond, 264080 * time.Microsecond},
		// median · e^(1.2816 σ)
		{`{"type":"latency","distribution":"lognormal","median":"200ms","sigma":0.5}`, 200 * time.Millisecond, 379530 * time.Microsecond},
		// scale · 2^(1/shape), scale · 10^(1/shape)
		{`{"type":"latency","distribution":"pareto","scale":"100ms","shape":2}`, 141421 * time.Microsecond, 316228 * time.Microsecond},
		{`{"type":"reorder","distribution":"lognormal","median":"1s","sigma":1}`, time.Second, 3602 * time.Millisecond},
	}
	for _, c := range cases {
		f, err := Decode(json.RawMessage(c.fault))
		if err != nil {
			t.Fatal(err)
		}
		rnd := rand.New(rand.NewPCG(3, 4))
		draws := make([]time.Duration, 10000)
		for i := range draws {
			draws[i] = f.Plan(rnd).Hold
		}
		slices.Sort(draws)
		median, p90 := draws[len(draws)/2], draws[len(draws)*9/10]
		for _, q := range []struct {
			name      string
			got, want time.Duration
		}{{"median", median, c.median}, {"p90", p90, c.p90}} {
			if d := float64(q.got-q.want) / float64(q.want); d < -0.1 || d > 0.1 {
				t.Errorf("%s: %s %v, want %v ± 10%%", c.fault, q.name, q.got, q.want)
			}
		}
		// The documented Quantile agrees with the hand-worked values.
		var d *Delay
		switch v := f.(type) {
		case *Latency:
			d = &v.Delay
		case *Reorder:
			d = &v.Delay
		}
		if q := d.Quantile(0.9); q < c.p90*99/100 || q > c.p90*101/100 {
			t.Errorf("%s: Quantile(0.9) = %v, want %v", c.fault, q, c.p90)
		}
	}
}

func TestDelayCapAndClamp(t *testing.T) {
	f, _ := Decode(json.RawMessage(`{"type":"latency","distribution":"pareto","scale":"1s","shape":0.5,"cap":"5s"}`))
	n, _ := Decode(json.RawMessage(`{"type":"latency","distribution":"normal","mean":"10ms","stddev":"1s"}`))
	rnd := rand.New(rand.NewPCG(5, 6))
	capped := 0
	for range 1000 {
		if h := f.Plan(rnd).Hold; h > 5*time.Second || h < time.Second {
			t.Fatalf("pareto draw %v outside [scale, cap]", h)
		} else if h == 5*time.Second {
			capped++
		}
		if h := n.Plan(rnd).Hold; h < 0 {
			t.Fatalf("normal draw %v is negative", h)
		}
	}
	if capped == 0 {
		t.Error("a heavy tail never reached the cap")
	}
}
