package receiver

// fifo is a queue kept in chunks of fifoChunk entries. A slice used as a
// queue copies everything it holds each time it grows, and a dedupe
// window queues every id it remembers (a day of them in a long virtual
// run: that copying was a twentieth of the simulator's time, and the
// doubling twice the memory at its peak). Chunks are never copied; a
// chunk whose entries are all popped is let go (one is kept for the next
// push), so memory follows what is queued.
type fifo[T any] struct {
	chunks [][]T // chunks[0][head:] is the front; only the last is not full
	head   int
	n      int
	spare  []T // an emptied chunk, for the next one needed
}

const fifoChunk = 1 << 12

func (q *fifo[T]) len() int { return q.n }

// push adds v at the back.
func (q *fifo[T]) push(v T) {
	k := len(q.chunks)
	if k == 0 || len(q.chunks[k-1]) == fifoChunk {
		c := q.spare
		q.spare = nil
		if c == nil {
			c = make([]T, 0, fifoChunk)
		}
		q.chunks = append(q.chunks, c)
		k++
	}
	q.chunks[k-1] = append(q.chunks[k-1], v)
	q.n++
}

// front is the oldest entry; the queue must not be empty.
func (q *fifo[T]) front() *T { return &q.chunks[0][q.head] }

// pop removes the oldest entry; the queue must not be empty.
func (q *fifo[T]) pop() {
	c := q.chunks[0]
	var zero T
	c[q.head] = zero // let go of what it points to
	q.head++
	q.n--
	if q.head < len(c) {
		return
	}
	// The first chunk is used up: drop it, or, if it is the one being
	// filled, start it over.
	q.head = 0
	if len(q.chunks) == 1 {
		q.chunks[0] = c[:0]
		return
	}
	q.spare = c[:0]
	q.chunks[0] = nil
	q.chunks = q.chunks[1:]
}

// all calls f on every entry, oldest first.
func (q *fifo[T]) all(f func(*T)) {
	for i, c := range q.chunks {
		from := 0
		if i == 0 {
			from = q.head
		}
		for j := from; j < len(c); j++ {
			f(&c[j])
		}
	}
}
