package virtual

import (
	"net/http"

	"github.com/hookrig/hookrig/reference/receiver"
	"github.com/hookrig/hookrig/scenarios"
)

// receiverModel is the reference receiver (reference/receiver, accept.go,
// dedupe.go, processing.go) in virtual time: every request it reads is
// verified (the simulated sender always signs correctly), deduplicated by
// webhook-id within the TTL window (and the size bound), acknowledged,
// and processed after the ack on a worker pool with a bounded queue; or,
// with before_ack, processed first, its outcome deciding the answer.
type receiverModel struct {
	ttl        int64
	maxEntries int
	duration   int64
	failure    float64
	beforeAck  bool
	async      bool // processing after the ack takes time: it queues
	workers    int
	queueCap   int
	ack        int64 // the model's ack time
	k          *kernel

	// ids is the dedupe window, indexed by event number: when the id was
	// claimed (0: not in the window), and for a claim made before the ack
	// when its processing ends and whether it fails.
	ids chunked[idSlot]
	// order is the window's eviction queue: claims in time order, each
	// live while its id's slot still holds the same claim time.
	order []claimRef
	head  int
	size  int

	// The processing queue after the ack: FIFO over `workers` equal
	// servers, so job k ends at max(arrival, end of job k-workers) +
	// duration. ends holds the jobs not finished yet (ascending);
	// lastEnds the last `workers` end times, by k mod workers.
	ends     []int64
	endsHead int
	lastEnds []int64
	jobs     uint64

	evictions uint64
}

// idSlot is one id's place in the dedupe window.
type idSlot struct {
	at    int64 // claim time + 1 (0: absent)
	until int64 // before_ack: when processing ends (the claim is pending until then)
	fails bool  // before_ack: the processing fails, the claim is released
	seen  uint32
}

type claimRef struct {
	num uint64
	at  int64
}

// Bodies of the reference receiver's answers, for the byte-paced faults.
var (
	ackFreshLen     = len(`{"received":true,"duplicate":false}` + "\n")
	ackDuplicateLen = len(`{"received":true,"duplicate":true}` + "\n")
)

// errorBodyLen approximates an error answer's JSON body ({"error": "..."}).
const errorBodyLen = 96

func newReceiverModel(r scenarios.Receiver, m Model, k *kernel) *receiverModel {
	rm := &receiverModel{
		ttl:        int64(r.DedupeTTL),
		maxEntries: receiver.DefaultDedupeMaxEntries,
		duration:   int64(r.Processing.Duration),
		failure:    r.Processing.FailureRatio,
		beforeAck:  r.Processing.BeforeAck,
		workers:    receiver.DefaultProcessingWorkers,
		queueCap:   receiver.DefaultProcessingQueue,
		ack:        int64(m.ReceiverAck),
		k:          k,
	}
	if rm.ttl <= 0 {
		rm.ttl = int64(receiver.DefaultDedupeTTL)
	}
	// As the receiver decides: work that takes time goes to workers after
	// the ack; an instant step runs inline.
	rm.async = !rm.beforeAck && rm.duration > 0
	if rm.async {
		rm.lastEnds = make([]int64, rm.workers)
	}
	return rm
}

// answer is what the receiver said to one request.
type answer struct {
	status     int
	retryAfter string // the Retry-After header it sent, if any
	bodyLen    int
	duplicate  bool
	took       int64 // from reading the request to the answer
}

// receive handles a request for event num that arrived at now.
func (rm *receiverModel) receive(num uint64, now int64) answer {
	for uint64(rm.ids.len()) <= num {
		rm.ids.grow()
	}
	rm.expire(now)
	s := rm.ids.at(int(num))
	s.seen++
	state := rm.lookup(s, now)
	if rm.beforeAck {
		switch state {
		case claimDuplicate:
			return answer{status: http.StatusOK, bodyLen: ackDuplicateLen, duplicate: true, took: rm.ack}
		case claimInFlight:
			// The first delivery may yet fail: come back later.
			return answer{status: http.StatusConflict, retryAfter: "1", bodyLen: errorBodyLen, duplicate: true, took: rm.ack}
		}
		// Whether this delivery's processing fails is drawn per (event,
		// request), not from one sequence in arrival order.
		fails := rm.failure > 0 && rm.k.draw(streamReceiver, num, uint64(s.seen)).Float64() < rm.failure
		rm.claim(num, now)
		s.until, s.fails = now+rm.duration, fails
		if fails {
			return answer{status: http.StatusInternalServerError, bodyLen: errorBodyLen, took: rm.ack + rm.duration}
		}
		return answer{status: http.StatusOK, bodyLen: ackFreshLen, took: rm.ack + rm.duration}
	}
	// Ack first: a queue slot, then a final claim.
	if rm.async {
		rm.finishJobs(now)
		if len(rm.ends)-rm.endsHead >= rm.queueCap {
			if state != claimFresh {
				return answer{status: http.StatusOK, bodyLen: ackDuplicateLen, duplicate: true, took: rm.ack}
			}
			return answer{status: http.StatusServiceUnavailable, retryAfter: "1", bodyLen: errorBodyLen, took: rm.ack}
		}
	}
	if state != claimFresh {
		return answer{status: http.StatusOK, bodyLen: ackDuplicateLen, duplicate: true, took: rm.ack}
	}
	rm.claim(num, now)
	s.until = now
	if rm.async {
		rm.queueJob(now + rm.ack)
	}
	return answer{status: http.StatusOK, bodyLen: ackFreshLen, took: rm.ack}
}

// What the window says about an arriving id (reference/receiver's claim).
const (
	claimFresh = iota
	claimDuplicate
	claimInFlight
)

func (rm *receiverModel) lookup(s *idSlot, now int64) int {
	if s.at == 0 || now-(s.at-1) >= rm.ttl {
		return claimFresh
	}
	if now < s.until {
		return claimInFlight
	}
	if s.fails {
		return claimFresh // released when its processing failed
	}
	return claimDuplicate
}

func (rm *receiverModel) claim(num uint64, now int64) {
	s := rm.ids.at(int(num))
	if s.at == 0 {
		rm.size++
	}
	s.at = now + 1
	rm.order = append(rm.order, claimRef{num: num, at: now + 1})
	for rm.size > rm.maxEntries {
		rm.popHead(true)
	}
}

// expire forgets ids claimed a TTL or more ago.
func (rm *receiverModel) expire(now int64) {
	for rm.head < len(rm.order) && now-(rm.order[rm.head].at-1) >= rm.ttl {
		rm.popHead(false)
	}
}

// popHead drops the oldest claim, evicting its id if the claim is still
// the id's; with force it goes on until one id is evicted.
func (rm *receiverModel) popHead(force bool) {
	for rm.head < len(rm.order) {
		c := rm.order[rm.head]
		rm.head++
		if s := rm.ids.at(int(c.num)); s.at == c.at {
			s.at, s.until, s.fails = 0, 0, false
			rm.size--
			rm.evictions++
			break
		}
		if !force {
			break
		}
	}
	if rm.head > 1024 && rm.head*2 > len(rm.order) {
		rm.order = rm.order[:copy(rm.order, rm.order[rm.head:])]
		rm.head = 0
	}
}

// queueJob queues the processing of a delivery acknowledged at at.
func (rm *receiverModel) queueJob(at int64) {
	i := rm.jobs % uint64(rm.workers)
	end := max(at, rm.lastEnds[i]) + rm.duration
	rm.lastEnds[i] = end
	rm.jobs++
	rm.ends = append(rm.ends, end)
}

// finishJobs drops the jobs done by now from the queue.
func (rm *receiverModel) finishJobs(now int64) {
	for rm.endsHead < len(rm.ends) && rm.ends[rm.endsHead] <= now {
		rm.endsHead++
	}
	if rm.endsHead > 1024 && rm.endsHead*2 > len(rm.ends) {
		rm.ends = rm.ends[:copy(rm.ends, rm.ends[rm.endsHead:])]
		rm.endsHead = 0
	}
}
