package delivery

// Lanes keeps ordered delivery: events that share a lane (an endpoint and
// an ordering key) go one at a time, in the order they were added; only a
// lane's head may be attempted, and the next event becomes the head when
// the head reaches its final outcome (delivered or dead-lettered). That is
// head-of-line blocking by design: a failing head stalls its whole lane
// until it is delivered or dead-lettered.
//
// Lanes is pure bookkeeping (no I/O, no clock) so the simulator can use
// the same rules. The zero value is ready to use; it is not safe for
// concurrent use.
type Lanes struct {
	m map[LaneKey][]uint64
}

// LaneKey names a lane.
type LaneKey struct {
	Endpoint string
	Key      string
}

// Add appends event seq to its lane and reports whether it is the head
// (and may be attempted now).
func (l *Lanes) Add(k LaneKey, seq uint64) (head bool) {
	if l.m == nil {
		l.m = make(map[LaneKey][]uint64)
	}
	q := append(l.m[k], seq)
	l.m[k] = q
	return len(q) == 1
}

// Done removes a finished event from its lane. When it was the head, the
// new head (if any) is returned with ok true: it may be attempted now.
func (l *Lanes) Done(k LaneKey, seq uint64) (next uint64, ok bool) {
	q := l.m[k]
	for i, s := range q {
		if s != seq {
			continue
		}
		if i == 0 {
			q = q[1:] // O(1): a long lane drains head first
		} else {
			q = append(q[:i:i], q[i+1:]...)
		}
		if len(q) == 0 {
			delete(l.m, k)
			return 0, false
		}
		l.m[k] = q
		if i == 0 {
			return q[0], true
		}
		return 0, false
	}
	return 0, false
}

// Waiting returns how many events wait behind heads, over all lanes.
func (l *Lanes) Waiting() int {
	n := 0
	for _, q := range l.m {
		n += len(q) - 1
	}
	return n
}
