package receiver

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/hookrig/hookrig/internal/httpapi"
	"github.com/hookrig/hookrig/reference/webhook"
)

// Header keys in canonical form: indexing http.Header with them skips the
// canonicalisation (and its allocation) that Header.Get would do.
const (
	keyID        = "Webhook-Id"
	keyTimestamp = "Webhook-Timestamp"
	keySignature = "Webhook-Signature"
	keyAttempt   = "Webhook-Attempt"
)

// Answers to an acknowledged webhook.
const (
	ackFresh     = `{"received":true,"duplicate":false}` + "\n"
	ackDuplicate = `{"received":true,"duplicate":true}` + "\n"
)

// maxJournaledID bounds how much of an unverified webhook-id a rejection
// journals: a forged request must not be able to write megabytes per line.
const maxJournaledID = 256

// maxPooledBody keeps rare huge bodies from pinning memory in the pool.
const maxPooledBody = 64 << 10

// serveWebhook is the hot path: every POST outside /v1/ lands here.
func (r *Receiver) serveWebhook(w http.ResponseWriter, req *http.Request) {
	r.serving.RLock()
	defer r.serving.RUnlock()
	if r.closed {
		w.Header().Set("Retry-After", "1")
		httpapi.WriteError(w, httpapi.Errorf(http.StatusServiceUnavailable, "receiver is shutting down"))
		return
	}
	r.counts.received.Add(1)
	h := req.Header
	rc := Receipt{ID: first(h[keyID]), Attempt: attempt(first(h[keyAttempt])), At: r.clock.Now()}
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		r.reject(w, &rc, &r.counts.badMethod, httpapi.Errorf(http.StatusMethodNotAllowed,
			"webhooks are delivered with POST, not %s (the receiver's own API is under /v1/)", req.Method))
		return
	}
	body, buf, err := r.readBody(req)
	if buf != nil {
		defer r.putBody(buf)
	}
	if err != nil {
		counter := &r.counts.unreadable
		if httpapi.StatusOf(err) == http.StatusRequestEntityTooLarge {
			counter = &r.counts.tooLarge
		}
		r.reject(w, &rc, counter, err)
		return
	}
	if err := r.verifier.VerifyValues(rc.ID, first(h[keyTimestamp]), first(h[keySignature]), body, rc.At); err != nil {
		if webhook.IsTimestampError(err) {
			r.reject(w, &rc, &r.counts.badTimestamp, httpapi.Errorf(http.StatusBadRequest, "%v", err))
		} else {
			r.reject(w, &rc, &r.counts.badSignature, httpapi.Errorf(http.StatusUnauthorized, "%v", err))
		}
		return
	}
	// Parse after verifying: an unauthenticated body is not worth reading.
	if !json.Valid(body) {
		r.reject(w, &rc, &r.counts.notJSON, notJSON(body))
		return
	}
	rc.Verified = true
	r.accept(w, req, &rc, body)
}

// accept deduplicates a verified webhook, acknowledges it and has it
// processed: after the ack by default, before it when so configured.
func (r *Receiver) accept(w http.ResponseWriter, req *http.Request, rc *Receipt, body []byte) {
	d := Delivery{}
	if r.cfg.Processing.Func != nil {
		d.Body = append([]byte(nil), body...) // body's buffer goes back to the pool
	}
	if r.cfg.Processing.BeforeAck {
		r.acceptBeforeAck(w, req, rc, d)
		return
	}
	p := r.process
	// Take the queue slot first, so that the claim can be final at once:
	// the ack is then certain, and a concurrent copy of the webhook is a
	// plain duplicate, never a conflict.
	if !p.reserve() {
		if r.window.seen(rc.ID, rc.At) {
			r.duplicate(w, rc)
			return
		}
		r.counts.overloaded.Add(1)
		w.Header().Set("Retry-After", "1")
		r.answerError(w, rc, httpapi.Errorf(http.StatusServiceUnavailable,
			"processing queue full (%d webhooks acknowledged and not yet processed); retry later", r.cfg.Processing.Queue))
		return
	}
	if r.window.claim(rc.ID, rc.At, true) != claimFresh {
		p.unreserve()
		r.duplicate(w, rc)
		return
	}
	rc.Status = http.StatusOK
	r.counts.unique.Add(1)
	// The ack is on the wire before processing starts.
	if !r.acknowledge(w, rc, ackFresh, true) {
		return
	}
	d.Receipt = *rc
	p.submit(d)
}

// acceptBeforeAck is the wrong way round, kept to show its cost: the
// answer waits for processing, and its outcome decides the status.
func (r *Receiver) acceptBeforeAck(w http.ResponseWriter, req *http.Request, rc *Receipt, d Delivery) {
	switch r.window.claim(rc.ID, rc.At, false) {
	case claimDuplicate:
		r.duplicate(w, rc)
		return
	case claimInFlight:
		// The first delivery is still being processed and may yet fail:
		// calling this one a duplicate could lose the webhook, processing
		// it could do it twice. Ask the sender to come back.
		rc.Duplicate = true
		r.counts.conflicts.Add(1)
		w.Header().Set("Retry-After", "1")
		r.answerError(w, rc, httpapi.Errorf(http.StatusConflict, "webhook %s is still being processed; retry later", rc.ID))
		return
	}
	d.Receipt = *rc
	if err := r.process.run(req.Context(), d); err != nil {
		r.window.release(rc.ID)
		r.counts.failed.Add(1)
		r.answerError(w, rc, httpapi.Errorf(http.StatusInternalServerError, "processing before the ack failed: %v", err))
		return
	}
	r.window.commit(rc.ID)
	rc.Status = http.StatusOK
	r.counts.unique.Add(1)
	r.acknowledge(w, rc, ackFresh, false)
}

// duplicate acknowledges a repeat without processing it again.
func (r *Receiver) duplicate(w http.ResponseWriter, rc *Receipt) {
	rc.Duplicate, rc.Status = true, http.StatusOK
	r.counts.duplicates.Add(1)
	r.acknowledge(w, rc, ackDuplicate, false)
}

// reject answers bad input with a 4xx and journals it unverified.
func (r *Receiver) reject(w http.ResponseWriter, rc *Receipt, counter *atomic.Uint64, err error) {
	counter.Add(1)
	if len(rc.ID) > maxJournaledID {
		rc.ID = rc.ID[:maxJournaledID]
	}
	r.answerError(w, rc, err)
}

// answerError journals rc with err's status and reason, then answers.
func (r *Receiver) answerError(w http.ResponseWriter, rc *Receipt, err error) {
	rc.Status = httpapi.StatusOf(err)
	rc.Error = err.Error()
	r.record(rc)
	httpapi.WriteError(w, err)
}

// acknowledge journals rc and answers 200 with body (see writeAck); with
// SyncAck, only once rc is on disk. It reports false if the receipt could
// not be made durable: then the answer is a 503 and the sender retries.
func (r *Receiver) acknowledge(w http.ResponseWriter, rc *Receipt, body string, flush bool) bool {
	r.record(rc)
	if r.cfg.SyncAck && rc.Seq > 0 {
		if err := r.durable(rc.Seq); err != nil {
			w.Header().Set("Retry-After", "1")
			httpapi.WriteError(w, httpapi.Errorf(http.StatusServiceUnavailable, "the receipt could not be written to disk; retry later"))
			return false
		}
	}
	writeAck(w, body, flush)
	return true
}

// record journals rc (giving it its seq) and tells OnReceipt.
func (r *Receiver) record(rc *Receipt) {
	if r.journal.append(rc) && r.cfg.OnReceipt != nil {
		r.cfg.OnReceipt(*rc)
	}
}

// writeAck answers 200 with a fixed body; with flush it pushes the answer
// onto the wire now rather than when the handler returns.
func writeAck(w http.ResponseWriter, body string, flush bool) {
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, body)
	if f, ok := w.(http.Flusher); flush && ok {
		f.Flush()
	}
}

// readBody reads the body into a pooled buffer, refusing more than
// MaxBody bytes (413) before reading when Content-Length says so.
func (r *Receiver) readBody(req *http.Request) ([]byte, *[]byte, error) {
	limit := r.cfg.MaxBody
	if req.ContentLength > limit {
		return nil, nil, httpapi.Errorf(http.StatusRequestEntityTooLarge,
			"body of %d bytes is over the limit of %d bytes", req.ContentLength, limit)
	}
	bp := r.bodies.Get().(*[]byte)
	buf := (*bp)[:0]
	if n := req.ContentLength; n >= 0 {
		if int64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(req.Body, buf); err != nil {
			*bp = buf[:0]
			return nil, bp, httpapi.Errorf(http.StatusBadRequest, "reading body: %v", err)
		}
		*bp = buf
		return buf, bp, nil
	}
	// No Content-Length (chunked): read until the limit is passed.
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := req.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		*bp = buf
		if int64(len(buf)) > limit {
			return nil, bp, httpapi.Errorf(http.StatusRequestEntityTooLarge, "body is over the limit of %d bytes", limit)
		}
		if err == io.EOF {
			return buf, bp, nil
		}
		if err != nil {
			return nil, bp, httpapi.Errorf(http.StatusBadRequest, "reading body: %v", err)
		}
	}
}

func (r *Receiver) putBody(bp *[]byte) {
	if cap(*bp) <= maxPooledBody {
		*bp = (*bp)[:0]
		r.bodies.Put(bp)
	}
}

// notJSON explains where a body stops being JSON (the slow path only).
func notJSON(body []byte) error {
	var v json.RawMessage
	if err := httpapi.Unmarshal(body, &v); err != nil {
		return httpapi.Errorf(http.StatusBadRequest, "body is not JSON: %v", err)
	}
	return httpapi.Errorf(http.StatusBadRequest, "body is not JSON")
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// attempt reads the webhook-attempt header; absent or unreadable is 0.
func attempt(s string) int {
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
