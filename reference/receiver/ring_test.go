package receiver

import (
	"strings"
	"testing"
	"time"
)

// The ring gives back every receipt as put, an id inline or not, and a
// slot holds only the latest seq that maps to it.
func TestReceiptRing(t *testing.T) {
	r := newReceiptRing(4)
	long := strings.Repeat("x", ringInlineID+1)
	ids := []string{"msg_01m8chg1j1admx3wyd89hvewrs", "", long, strings.Repeat("y", ringInlineID), "evt_1"}
	for i, id := range ids {
		rc := Receipt{Seq: uint64(i + 1), ID: id, Attempt: i, At: t0.Add(time.Duration(i) * time.Second), Status: 200, Verified: true, Error: "e"}
		r.put(&rc)
		if got := r.get(rc.Seq); got != rc {
			t.Fatalf("put %+v, got %+v", rc, got)
		}
	}
	if r.holds(1) || !r.holds(5) || r.get(1).Seq != 5 || r.get(1).ID != "evt_1" {
		t.Fatalf("seq 5 should have taken seq 1's slot: %+v", r.get(1))
	}
	if got := r.get(3); got.ID != long {
		t.Fatalf("a long id came back as %q", got.ID)
	}
}
