package virtual

import (
	"slices"
	"testing"
)

// A seqTable holds the pending events only: pages whose events are all
// final are freed, and the rest still map seq to slot in order.
func TestSeqTableFollowsThePendingSet(t *testing.T) {
	var tb seqTable
	const n = 3*seqPage + 10
	for s := range n {
		tb.add(int32(s))
	}
	// Everything final but one event in the second page and the tail.
	keep := func(seq uint64) bool { return seq == seqPage+7 || seq > 3*seqPage }
	for seq := uint64(1); seq <= n; seq++ {
		if !keep(seq) {
			tb.done(seq)
		}
	}
	if len(tb.pages) != 3 || tb.first != 1 || tb.pages[1] != nil {
		t.Errorf("pages after the first's events are final: %d kept from page %d (second nil: %v); want 3 from 1, the third freed", len(tb.pages), tb.first, tb.pages[1] == nil)
	}
	var want []int32
	for seq := uint64(1); seq <= n; seq++ {
		got := tb.at(seq)
		if keep(seq) {
			want = append(want, int32(seq-1))
			if got != int32(seq-1) {
				t.Errorf("at(%d) = %d; want slot %d", seq, got, seq-1)
			}
		} else if got != -1 {
			t.Errorf("at(%d) = %d after it was final; want -1", seq, got)
		}
	}
	if got := slices.Collect(tb.pending()); !slices.Equal(got, want) {
		t.Errorf("pending yields %d slots %v...; want %d in acceptance order", len(got), got[:min(3, len(got))], len(want))
	}
	// The tail page is not freed while it still takes numbers.
	for seq := uint64(3*seqPage + 1); seq <= n; seq++ {
		tb.done(seq)
	}
	tb.add(99)
	if got := tb.at(n + 1); got != 99 {
		t.Errorf("at(%d) = %d after the tail page emptied; want 99", n+1, got)
	}
}
