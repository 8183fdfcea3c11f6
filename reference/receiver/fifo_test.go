package receiver

import "testing"

// The queue gives back what it was given, in order, across chunks, and
// lets go of chunks it has emptied.
func TestFIFOOrderAndMemory(t *testing.T) {
	var q fifo[int]
	next, want := 0, 0
	for round, n := range []int{1, fifoChunk - 1, 3*fifoChunk + 5, fifoChunk, 7} {
		for range n {
			q.push(next)
			next++
		}
		var seen []int
		q.all(func(v *int) { seen = append(seen, *v) })
		if len(seen) != q.len() || (len(seen) > 0 && (seen[0] != want || seen[len(seen)-1] != next-1)) {
			t.Fatalf("round %d: all gave %d entries from %v, queue holds %d from %d to %d", round, len(seen), seen[:min(len(seen), 1)], q.len(), want, next-1)
		}
		for q.len() > n/2 {
			if got := *q.front(); got != want {
				t.Fatalf("round %d: front %d, want %d", round, got, want)
			}
			q.pop()
			want++
		}
		if room := q.held(); room > q.len()+3*fifoChunk {
			t.Fatalf("round %d: room for %d entries with %d queued", round, room, q.len())
		}
	}
	for q.len() > 0 {
		if got := *q.front(); got != want {
			t.Fatalf("front %d, want %d", got, want)
		}
		q.pop()
		want++
	}
	if want != next || q.held() > 2*fifoChunk {
		t.Fatalf("popped up to %d of %d; room for %d when empty", want, next, q.held())
	}
}

// held is how many entries the queue has room for without allocating
// (the tests' measure of what it keeps).
func (q *fifo[T]) held() int {
	n := len(q.chunks) * fifoChunk
	if q.spare != nil {
		n += fifoChunk
	}
	return n
}
