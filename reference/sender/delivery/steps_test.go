package delivery

import (
	"math/rand/v2"
	"net/http"
	"testing"
	"time"
)

func TestSettle(t *testing.T) {
	p := DefaultPolicy()
	p.Breaker = BreakerPolicy{Failures: 1, Cooldown: time.Minute}
	j := NewJitter(1)
	st := DeliveryState{FirstAt: t0}

	// A failure is recorded by the breaker and retried.
	dec, st2, ep := settleV(Endpoint{Policy: &p}, st, Outcome{Status: 503}, t0, j, "evt_1")
	if dec.Kind != RetryAt || st2.Attempts != 1 || ep.Breaker.Phase != BreakerOpen || ep.Disabled {
		t.Fatalf("503: %v %+v %+v", dec, st2, ep)
	}
	// The decision is the policy's, with the event's keyed jitter.
	want, _ := nextV(p, st, Outcome{Status: 503}, t0, NewJitter(1).For("evt_1", 1))
	if dec != want {
		t.Errorf("Settle decided %+v, Next with the keyed jitter %+v", dec, want)
	}

	// A retry for a disabled endpoint is a dead letter with its reason.
	dec, _, ep = settleV(Endpoint{Policy: &p, Disabled: true, Reason: "gone fishing"}, st, Outcome{Status: 503}, t0, j, "evt_1")
	if dec.Kind != DeadLetter || dec.Reason != "gone fishing" || !ep.Disabled {
		t.Errorf("retry of a disabled endpoint: %+v %+v", dec, ep)
	}
	// A delivery to a disabled endpoint still counts.
	if dec, _, _ = settleV(Endpoint{Policy: &p, Disabled: true}, st, Outcome{Status: 200}, t0, j, "evt_1"); dec.Kind != Delivered {
		t.Errorf("200 from a disabled endpoint: %+v", dec)
	}
	// A 410 disables the endpoint, once.
	dec, _, ep = settleV(Endpoint{Policy: &p}, st, Outcome{Status: http.StatusGone}, t0, j, "evt_1")
	if dec.Kind != DisableEndpoint || !ep.Disabled || ep.Reason != GoneReason {
		t.Errorf("410: %+v %+v", dec, ep)
	}
	_, _, ep = settleV(Endpoint{Policy: &p, Disabled: true, Reason: deletedReason}, st, Outcome{Status: http.StatusGone}, t0, j, "evt_1")
	if ep.Reason != deletedReason {
		t.Errorf("a 410 after deletion rewrote the reason to %q", ep.Reason)
	}
}

func TestRecover(t *testing.T) {
	p := DefaultPolicy()
	j := NewJitter(7)
	st := DeliveryState{Attempts: 2, FirstAt: t0, LastAt: t0.Add(time.Second), Last: Outcome{Status: 500}}
	now := t0.Add(time.Hour)

	what, dec, _ := Recover(nil, st, true, now, j, "evt_1")
	if what != Orphan || dec.Kind != DeadLetter || dec.Reason != deletedReason {
		t.Errorf("deleted endpoint: %v %+v", what, dec)
	}
	what, dec, _ = Recover(&Endpoint{Policy: &p, Disabled: true, Reason: GoneReason}, st, true, now, j, "evt_1")
	if what != Orphan || dec.Kind != DeadLetter || dec.Reason != GoneReason {
		t.Errorf("disabled endpoint: %v %+v", what, dec)
	}
	what, dec, got := Recover(&Endpoint{Policy: &p}, st, true, now, j, "evt_1")
	want, wantSt := nextV(p, DeliveryState{Attempts: 2, FirstAt: t0}, Outcome{Err: ErrInterrupted}, now, NewJitter(7).For("evt_1", 3))
	if what != Interrupted || dec != want || got != wantSt || dec.Kind != RetryAt || !dec.At.Equal(now) {
		t.Errorf("interrupted: %v %+v %+v, want an immediate retry %+v %+v", what, dec, got, want, wantSt)
	}
	if what, _, got = Recover(&Endpoint{Policy: &p}, st, false, now, j, "evt_1"); what != Resume || got != st {
		t.Errorf("nothing in flight: %v %+v", what, got)
	}
}

// The few statuses written out here must be net/http's.
func TestStatusConstantsAreNetHTTPs(t *testing.T) {
	for code, want := range map[int]int{statusRequestTimeout: http.StatusRequestTimeout, statusGone: http.StatusGone,
		statusTooManyRequests: http.StatusTooManyRequests, statusServiceUnavailable: http.StatusServiceUnavailable} {
		if code != want {
			t.Errorf("status constant %d, net/http says %d", code, want)
		}
	}
}

// admitV and settleV call Admit and Settle on a copy of ep and return
// it changed, so the tables read as values.
func admitV(ep Endpoint, inflight int, share Share, now time.Time) (bool, time.Time, Endpoint) {
	ok, again := Admit(&ep, inflight, share, now)
	return ok, again, ep
}

func settleV(ep Endpoint, st DeliveryState, o Outcome, now time.Time, j *Jitter, id string) (Decision, DeliveryState, Endpoint) {
	dec := Settle(&ep, &st, o, now, j, id)
	return dec, st, ep
}

// nextV calls p.Next on a copy of st and returns it changed.
func nextV(p Policy, st DeliveryState, o Outcome, now time.Time, rnd *rand.Rand) (Decision, DeliveryState) {
	dec := p.Next(&st, o, now, rnd)
	return dec, st
}
