package sender

import "testing"

func TestRecordsRoundTrip(t *testing.T) {
	ev := eventRecord{ID: "msg_1", Endpoint: "ep_1", Type: "a.b", Key: "k", Payload: []byte(`{"x":1}`), AcceptedAt: -5}
	got, err := decodeEvent(ev.encode())
	if err != nil || got.ID != ev.ID || got.Endpoint != ev.Endpoint || got.Type != ev.Type || got.Key != ev.Key ||
		string(got.Payload) != string(ev.Payload) || got.AcceptedAt != ev.AcceptedAt {
		t.Fatalf("event: %+v %v", got, err)
	}
	head, err := decodeEventHead(ev.encode())
	if err != nil || head.ID != ev.ID || head.Payload != nil || head.AcceptedAt != ev.AcceptedAt {
		t.Fatalf("event head: %+v %v", head, err)
	}
	st := stateRecord{Code: codeDeadLettered, Attempts: 3, Total: 9, Since: 1, NextAt: 2, FinalAt: 3, Replays: 2, Reason: "gave up"}
	if got, err := decodeState(st.encode()); err != nil || got != st {
		t.Fatalf("state: %+v %v", got, err)
	}
	// A delivered event's first attempt rides in its state record; a
	// record of the layout before (no attempt) reads with none.
	delivered := stateRecord{Code: codeDelivered, Attempts: 1, Total: 1, Since: 1, FinalAt: 4,
		First: attemptRecord{N: 1, At: 2, Duration: 3, Status: 204}}
	if got, err := decodeState(delivered.encode()); err != nil || got != delivered {
		t.Fatalf("delivered state: %+v %v", got, err)
	}
	before := delivered
	before.First = attemptRecord{}
	if got, err := decodeState(before.encode()); err != nil || got != before || got.First.N != 0 {
		t.Fatalf("state without an attempt: %+v %v", got, err)
	}
	if _, err := decodeState(delivered.encode()[:len(delivered.encode())-2]); err == nil {
		t.Error("decodeState accepted a state record whose attempt is cut short")
	}
	a := attemptRecord{N: 4, At: 10, Duration: 20, Status: 503, Err: "", Detail: "busy"}
	if got, err := decodeAttempt(a.encode()); err != nil || got != a {
		t.Fatalf("attempt: %+v %v", got, err)
	}
	c := claimRecord{N: 2, At: 99}
	if got, err := decodeClaim(c.encode()); err != nil || got != c {
		t.Fatalf("claim: %+v %v", got, err)
	}
	for _, bad := range [][]byte{nil, {}, {9, 1}, ev.encode()[:5], {recordVersion, 0xff}} {
		if _, err := decodeEvent(bad); err == nil {
			t.Errorf("decodeEvent(%v) accepted corrupt data", bad)
		}
	}
}
