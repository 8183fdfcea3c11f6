package virtual

import (
	"net/http"
	"time"

	"github.com/hookrig/hookrig/reference/receiver"
	"github.com/hookrig/hookrig/scenarios"
)

// receiverModel is the reference receiver (reference/receiver, accept.go,
// dedupe.go, processing.go) in virtual time: every request it reads is
// verified (the simulated sender always signs correctly), deduplicated by
// webhook-id through the receiver's own dedupe Window (TTL and size
// bound), acknowledged with the receiver's own ack bodies, and processed
// after the ack on a worker pool with a bounded queue; or, with
// before_ack, processed first, its outcome deciding the answer.
type receiverModel struct {
	duration  int64
	failure   float64
	beforeAck bool
	async     bool // processing after the ack takes time: it queues
	workers   int
	queueCap  int
	ack       int64 // the model's ack time
	k         *kernel

	// window is the live receiver's dedupe decision, keyed by the
	// event's number among this receiver's events (numbered: one number,
	// one webhook-id; dense, so the window keeps them in pages); ids holds per event what the window cannot know
	// in virtual time: when a claim made before the ack is settled.
	window   *receiver.Window[uint64]
	numbered uint64 // events numbered so far
	ids      chunked[idSlot]
	// limit is the group's rate limit (nil: none), the live receiver's
	// buckets per path.
	limit *receiver.RateLimit

	// The processing queue after the ack: FIFO over `workers` equal
	// servers, so job k ends at max(arrival, end of job k-workers) +
	// duration. ends holds the jobs not finished yet (ascending);
	// lastEnds the last `workers` end times, by k mod workers.
	ends     []int64
	endsHead int
	lastEnds []int64
	jobs     uint64
}

// idSlot is what the model adds to the window per event.
type idSlot struct {
	until   int64 // before_ack: when processing ends (the claim is pending until then)
	fails   bool  // before_ack: the processing fails, the claim is released then
	pending bool  // a before_ack claim the window has not been told the outcome of
	seen    uint32
}

// Bodies of the reference receiver's answers, for the byte-paced faults.
var (
	ackFreshLen     = len(receiver.AckFresh)
	ackDuplicateLen = len(receiver.AckDuplicate)
)

// errorBodyLen approximates an error answer's JSON body ({"error": "..."}).
const errorBodyLen = 96

func newReceiverModel(r scenarios.Receiver, m Model, k *kernel) *receiverModel {
	ttl := r.DedupeTTL
	if ttl <= 0 {
		ttl = receiver.DefaultDedupeTTL
	}
	rm := &receiverModel{
		window:    receiver.NewNumberedWindow(ttl, receiver.DefaultDedupeMaxEntries),
		duration:  int64(r.Processing.Duration),
		failure:   r.Processing.FailureRatio,
		beforeAck: r.Processing.BeforeAck,
		workers:   receiver.DefaultProcessingWorkers,
		queueCap:  receiver.DefaultProcessingQueue,
		ack:       int64(m.ReceiverAck),
		k:         k,
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

// number gives the next event to this receiver its key in the window.
func (rm *receiverModel) number() uint64 {
	rm.numbered++
	return rm.numbered - 1
}

// receive handles a request for event num (key: its number for this
// receiver) on path that arrived at now.
func (rm *receiverModel) receive(num, key uint64, path string, now int64) answer {
	at := time.Unix(0, now)
	if rm.limit != nil && !rm.limit.Allow(path, at) {
		// Over the path's limit: refused before it is read.
		return answer{status: http.StatusTooManyRequests, retryAfter: rm.limit.RetryAfter(), bodyLen: errorBodyLen, took: rm.ack}
	}
	if rm.beforeAck {
		// Only processing before the ack needs to remember more per
		// event than the window does: an ack-first receiver keeps
		// nothing that grows with the run.
		for uint64(rm.ids.len()) <= num {
			rm.ids.grow()
		}
		s := rm.ids.at(int(num))
		s.seen++
		// A claim made before the ack whose processing has ended by now
		// is settled as the live receiver settles it when processing
		// returns.
		if s.pending && now >= s.until {
			s.pending = false
			if s.fails {
				rm.window.Release(key)
			} else {
				rm.window.Commit(key)
			}
		}
		switch rm.window.Claim(key, at, false) {
		case receiver.Duplicate:
			return answer{status: http.StatusOK, bodyLen: ackDuplicateLen, duplicate: true, took: rm.ack}
		case receiver.InFlight:
			// The first delivery may yet fail: come back later.
			return answer{status: http.StatusConflict, retryAfter: "1", bodyLen: errorBodyLen, duplicate: true, took: rm.ack}
		}
		// Whether this delivery's processing fails is drawn per (event,
		// request), not from one sequence in arrival order.
		fails := rm.failure > 0 && rm.k.draw(streamReceiver, num, uint64(s.seen)).Float64() < rm.failure
		s.until, s.fails, s.pending = now+rm.duration, fails, true
		if fails {
			return answer{status: http.StatusInternalServerError, bodyLen: errorBodyLen, took: rm.ack + rm.duration}
		}
		return answer{status: http.StatusOK, bodyLen: ackFreshLen, took: rm.ack + rm.duration}
	}
	// Ack first: a queue slot, then a final claim.
	if rm.async {
		rm.finishJobs(now)
		if len(rm.ends)-rm.endsHead >= rm.queueCap {
			if rm.window.Seen(key, at) {
				return answer{status: http.StatusOK, bodyLen: ackDuplicateLen, duplicate: true, took: rm.ack}
			}
			return answer{status: http.StatusServiceUnavailable, retryAfter: "1", bodyLen: errorBodyLen, took: rm.ack}
		}
	}
	if rm.window.Claim(key, at, true) != receiver.Fresh {
		return answer{status: http.StatusOK, bodyLen: ackDuplicateLen, duplicate: true, took: rm.ack}
	}
	if rm.async {
		rm.queueJob(now + rm.ack)
	}
	return answer{status: http.StatusOK, bodyLen: ackFreshLen, took: rm.ack}
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
