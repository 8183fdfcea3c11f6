package virtual

import "iter"

// seqTable maps the sender's acceptance order (seq, from 1) to the slot of
// a pending event, for what the live sender does in acceptance order: the
// next event of a lane, and the restart's walk over the outbox. It is kept
// in pages of seqPage numbers, and a page whose events are all final is
// freed, so its memory follows the pending set (a page per stretch of
// seqPage events in which one is still pending) and not the run's length.
type seqTable struct {
	pages [][]int32 // pages[p] covers seq first*seqPage+p*seqPage+1...; nil once freed
	live  []int32   // pending events per page
	first uint64    // pages before it are freed and trimmed off
	n     uint64    // the last seq added
}

const seqPageShift = 12
const seqPage = 1 << seqPageShift

// add gives slot the next seq.
func (t *seqTable) add(slot int32) {
	i := t.n // seq-1
	t.n++
	p := i>>seqPageShift - t.first
	if i&(seqPage-1) == 0 {
		pg := make([]int32, seqPage)
		for j := range pg {
			pg[j] = -1 // not given out yet
		}
		t.pages = append(t.pages, pg)
		t.live = append(t.live, 0)
	}
	t.pages[p][i&(seqPage-1)] = slot
	t.live[p]++
}

// at returns the slot of the pending event seq; -1 once it is final.
func (t *seqTable) at(seq uint64) int32 {
	i := seq - 1
	pg := i >> seqPageShift
	if seq == 0 || seq > t.n || pg < t.first || t.pages[pg-t.first] == nil {
		return -1
	}
	return t.pages[pg-t.first][i&(seqPage-1)]
}

// done forgets event seq, final now.
func (t *seqTable) done(seq uint64) {
	i := seq - 1
	p := i>>seqPageShift - t.first
	t.pages[p][i&(seqPage-1)] = -1
	t.live[p]--
	// A full page with nothing pending is freed (the last one still
	// takes new numbers); freed pages at the front are trimmed off.
	if t.live[p] == 0 && (p+1)*seqPage <= t.n-t.first*seqPage {
		t.pages[p] = nil
		for len(t.pages) > 0 && t.pages[0] == nil {
			t.pages, t.live = t.pages[1:], t.live[1:]
			t.first++
		}
	}
}

// pending yields the slot of every pending event, in acceptance order.
// Events made final meanwhile are skipped.
func (t *seqTable) pending() iter.Seq[int32] {
	return func(yield func(int32) bool) {
		for _, pg := range t.pages {
			for _, i := range pg {
				if i >= 0 && !yield(i) {
					return
				}
			}
		}
	}
}
