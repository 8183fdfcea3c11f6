package receiver

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/hookrig/hookrig/internal/echo"
	"github.com/hookrig/hookrig/internal/httpapi"
	"github.com/hookrig/hookrig/internal/jsonvalid"
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

// Answers to an acknowledged webhook: the live receiver writes them, the
// virtual-time model counts their bytes.
const (
	AckFresh     = `{"received":true,"duplicate":false}` + "\n"
	AckDuplicate = `{"received":true,"duplicate":true}` + "\n"
)

// maxJournaledID bounds how much of an unverified webhook-id a rejection
// journals: a forged request must not be able to write megabytes per line.
// It is also the longest webhook-id accepted at all (400 past it): ids are
// short tokens ("msg_..."), and a longer one, signed or not, would make
// every receipt and dedupe entry of it as long.
const maxJournaledID = 256

// maxPooledBody keeps rare huge bodies from pinning memory in the pool.
const maxPooledBody = 64 << 10

// serveWebhook is the hot path: every POST outside /v1/ lands here.
func (r *Receiver) serveWebhook(w http.ResponseWriter, req webhookRequest) {
	r.serving.RLock()
	defer r.serving.RUnlock()
	if r.closed {
		w.Header().Set("Retry-After", "1")
		httpapi.WriteError(w, httpapi.Errorf(http.StatusServiceUnavailable, "receiver is shutting down"))
		return
	}
	r.counts.received.Add(1)
	rc := Receipt{ID: req.header(keyID), Attempt: attempt(req.peek(keyAttempt)), At: r.clock.Now()}
	if r.scheme != nil {
		// Unverified until the signature checks out; only journaled with a
		// rejection, and only when the id is in a header.
		rc.ID = ""
		if r.idFrom.Header != "" {
			rc.ID = req.header(r.idFrom.Header)
		}
	}
	if r.limiter != nil && !r.limiter.allow(req.path(), rc.At) {
		r.rateLimited(w, &rc)
		return
	}
	if method := req.method(); method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		r.reject(w, &rc, &r.counts.badMethod, httpapi.Errorf(http.StatusMethodNotAllowed,
			"webhooks are delivered with POST, not %s (the receiver's own API is under /v1/)", echo.Value(method)))
		return
	}
	if len(rc.ID) > maxJournaledID {
		r.reject(w, &rc, &r.counts.longID, httpapi.Errorf(http.StatusBadRequest,
			"webhook-id of %d bytes is over the limit of %d bytes", len(rc.ID), maxJournaledID))
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
	if r.scheme == nil {
		if err := r.verifier.VerifyValues(rc.ID, req.peek(keyTimestamp), req.peek(keySignature), body, rc.At); err != nil {
			r.refuse(w, &rc, err)
			return
		}
	} else if !r.verifyScheme(w, &rc, req.headers(), body) {
		return
	}
	// Parse after verifying: an unauthenticated body is not worth reading.
	if !jsonvalid.Valid(body) {
		r.reject(w, &rc, &r.counts.notJSON, notJSON(body))
		return
	}
	rc.Verified = true
	if r.unwritable.Load() || !r.journal.room() {
		// A flush failed (disk full?) and none has succeeded since, or no
		// disk space is reserved for the receipt: what would be
		// acknowledged now might not be kept. Not even a duplicate is
		// acknowledged, and nothing is claimed.
		r.unkept(w, &rc, "the journal cannot be written (disk full?); retry later")
		return
	}
	r.accept(w, req, &rc, body)
}

// verifyScheme verifies a request with a scheme other than the fast
// path's, then sets rc.ID to the verified id (from IDFrom when it is set);
// on failure it answers and reports false.
func (r *Receiver) verifyScheme(w http.ResponseWriter, rc *Receipt, h http.Header, body []byte) bool {
	v, err := r.scheme.Verify(h, body, rc.At)
	if err != nil {
		r.refuse(w, rc, err)
		return false
	}
	id := v.ID
	if !r.cfg.IDFrom.IsNone() {
		if id, err = r.cfg.IDFrom.Extract(h, body); err != nil {
			r.reject(w, rc, &r.counts.missingID, httpapi.Errorf(http.StatusBadRequest,
				"signature verified, but no event id (--id-from %s): %v", r.cfg.IDFrom, err))
			return false
		}
	}
	rc.ID = id
	if len(id) > maxJournaledID {
		r.reject(w, rc, &r.counts.longID, httpapi.Errorf(http.StatusBadRequest,
			"event id of %d bytes is over the limit of %d bytes", len(id), maxJournaledID))
		return false
	}
	return true
}

// refuse answers a failed verification: a bad timestamp is 400, a good
// signature over a request without its event id is 400, anything else
// (missing or mismatched signature) is 401.
func (r *Receiver) refuse(w http.ResponseWriter, rc *Receipt, err error) {
	var ve *webhook.VerifyError
	switch {
	case webhook.IsTimestampError(err):
		r.reject(w, rc, &r.counts.badTimestamp, httpapi.Errorf(http.StatusBadRequest, "%v", err))
	case errors.As(err, &ve) && ve.Failure == webhook.BadFormat && ve.Field == "body":
		// Stripe's id is in the body: a body that is not JSON is bad
		// input, as on the standard path, not a bad signature.
		r.reject(w, rc, &r.counts.notJSON, httpapi.Errorf(http.StatusBadRequest, "%v", err))
	case errors.Is(err, webhook.ErrMissingID),
		errors.As(err, &ve) && ve.Failure == webhook.MissingHeader && ve.Field != "" && strings.EqualFold(ve.Field, r.idFrom.Header):
		r.reject(w, rc, &r.counts.missingID, httpapi.Errorf(http.StatusBadRequest, "%v", err))
	default:
		r.reject(w, rc, &r.counts.badSignature, httpapi.Errorf(http.StatusUnauthorized, "%v", err))
	}
}

// accept deduplicates a verified webhook, acknowledges it and has it
// processed: after the ack by default, before it when so configured.
func (r *Receiver) accept(w http.ResponseWriter, req webhookRequest, rc *Receipt, body []byte) {
	d := Delivery{}
	if r.cfg.Processing.Func != nil {
		d.Body = append([]byte(nil), body...) // body's buffer goes back to the pool
	}
	if rc.ID == "" {
		r.acceptUndeduplicated(w, req, rc, d)
		return
	}
	if r.shared != nil {
		r.acceptShared(w, req, rc, d)
		return
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
		r.overloaded(w, rc)
		return
	}
	// With SyncAck the claim stays pending until the receipt is on disk:
	// a copy arriving meanwhile is told to come back (409), and a failed
	// fsync releases the id so that the retry is processed.
	var c Sighting
	if r.cfg.SyncAck {
		c = r.window.claimDurable(rc.ID, rc.At)
	} else {
		c = r.window.claim(rc.ID, rc.At, true)
	}
	if c != Fresh {
		p.unreserve()
		if c == InFlight {
			r.conflict(w, rc)
			return
		}
		r.duplicate(w, rc)
		return
	}
	rc.Status = http.StatusOK
	if !r.keep(w, rc) {
		if r.cfg.SyncAck {
			r.window.settle(rc.ID, false)
		}
		p.unreserve()
		return
	}
	if r.cfg.SyncAck {
		r.window.settle(rc.ID, true)
	}
	r.counts.unique.Add(1)
	// The ack is on the wire before processing starts.
	writeAck(w, AckFresh, true)
	d.Receipt = *rc
	p.submit(d)
}

// acceptShared is accept with the window in PostgreSQL (see shared.go):
// the id's row is inserted before the ack, final when the ack is certain,
// else pending until the receipt is kept (SyncAck) or processing succeeded
// (BeforeAck), and deleted when the webhook ends up not acknowledged.
func (r *Receiver) acceptShared(w http.ResponseWriter, req webhookRequest, rc *Receipt, d Delivery) {
	p := r.process
	before := r.cfg.Processing.BeforeAck
	if !before && !p.reserve() {
		r.overloaded(w, rc)
		return
	}
	unreserve := func() {
		if !before {
			p.unreserve()
		}
	}
	final := !before && !r.cfg.SyncAck
	c, err := r.shared.claim(req.context(), rc.ID, rc.At, final)
	if err != nil {
		unreserve()
		r.log.Error("dedupe database", "err", err)
		r.unkept(w, rc, "the dedupe database cannot be reached; retry later")
		return
	}
	switch c {
	case Duplicate:
		unreserve()
		r.duplicate(w, rc)
		return
	case InFlight:
		unreserve()
		r.conflict(w, rc)
		return
	}
	if before {
		d.Receipt = *rc
		if err := r.process.run(req.context(), d); err != nil {
			r.settleShared(rc, false)
			r.processingFailed(w, rc, err)
			return
		}
	}
	rc.Status = http.StatusOK
	if !r.keep(w, rc) {
		r.settleShared(rc, false)
		unreserve()
		return
	}
	if !final {
		r.settleShared(rc, true)
	}
	r.counts.unique.Add(1)
	writeAck(w, AckFresh, !before)
	if !before {
		d.Receipt = *rc
		p.submit(d)
	}
}

// settleShared ends a pending shared claim. If the database cannot be
// told, the row stays pending: copies get 409 until pendingLease passes,
// then one is processed (again, if this one was kept).
func (r *Receiver) settleShared(rc *Receipt, kept bool) {
	if err := r.shared.settle(rc.ID, rc.At, kept); err != nil {
		r.log.Error("dedupe database: settling a claim", "id", rc.ID, "kept", kept, "err", err)
	}
}

// acceptUndeduplicated acknowledges a verified webhook that carries no
// event id (the slack scheme has none): nothing can tell a repeat from a
// new event, so each one is processed, and counted so that the report can
// say so.
func (r *Receiver) acceptUndeduplicated(w http.ResponseWriter, req webhookRequest, rc *Receipt, d Delivery) {
	rc.Status = http.StatusOK
	if r.cfg.Processing.BeforeAck {
		d.Receipt = *rc
		if err := r.process.run(req.context(), d); err != nil {
			r.processingFailed(w, rc, err)
			return
		}
		if r.keep(w, rc) {
			r.counts.unique.Add(1)
			r.counts.undeduplicated.Add(1)
			writeAck(w, AckFresh, false)
		}
		return
	}
	p := r.process
	if !p.reserve() {
		r.overloaded(w, rc)
		return
	}
	if !r.keep(w, rc) {
		p.unreserve()
		return
	}
	r.counts.unique.Add(1)
	r.counts.undeduplicated.Add(1)
	writeAck(w, AckFresh, true)
	d.Receipt = *rc
	p.submit(d)
}

// acceptBeforeAck is the wrong way round, kept to show its cost: the
// answer waits for processing, and its outcome decides the status.
func (r *Receiver) acceptBeforeAck(w http.ResponseWriter, req webhookRequest, rc *Receipt, d Delivery) {
	switch r.window.claim(rc.ID, rc.At, false) {
	case Duplicate:
		r.duplicate(w, rc)
		return
	case InFlight:
		r.conflict(w, rc)
		return
	}
	d.Receipt = *rc
	if err := r.process.run(req.context(), d); err != nil {
		r.window.release(rc.ID)
		r.processingFailed(w, rc, err)
		return
	}
	rc.Status = http.StatusOK
	if !r.cfg.SyncAck {
		r.window.commit(rc.ID)
		r.counts.unique.Add(1)
		if r.keep(w, rc) {
			writeAck(w, AckFresh, false)
		}
		return
	}
	r.window.persist(rc.ID)
	kept := r.keep(w, rc)
	r.window.settle(rc.ID, kept)
	if kept {
		r.counts.unique.Add(1)
		writeAck(w, AckFresh, false)
	}
}

// overloaded answers 503 to a webhook the processing queue has no room
// for: it is not acknowledged, and the sender retries.
func (r *Receiver) overloaded(w http.ResponseWriter, rc *Receipt) {
	r.counts.overloaded.Add(1)
	w.Header().Set("Retry-After", "1")
	r.answerError(w, rc, httpapi.Errorf(http.StatusServiceUnavailable,
		"processing queue full (%d webhooks acknowledged and not yet processed); retry later", r.cfg.Processing.Queue))
}

// processingFailed answers 500 to a webhook whose processing before the
// ack failed: it is not acknowledged, and the sender retries.
func (r *Receiver) processingFailed(w http.ResponseWriter, rc *Receipt, err error) {
	r.counts.failed.Add(1)
	r.answerError(w, rc, httpapi.Errorf(http.StatusInternalServerError, "processing before the ack failed: %v", err))
}

// conflict answers a copy of a webhook whose first delivery has not been
// answered yet (it is processed before its ack, or its receipt waits for
// an fsync) and may yet fail: calling this one a duplicate could lose the
// webhook, processing it could do it twice. The sender comes back.
func (r *Receiver) conflict(w http.ResponseWriter, rc *Receipt) {
	rc.Duplicate = true
	r.counts.conflicts.Add(1)
	w.Header().Set("Retry-After", "1")
	r.answerError(w, rc, httpapi.Errorf(http.StatusConflict, "webhook %s is still being processed; retry later", echo.Quote(rc.ID)))
}

// duplicate acknowledges a repeat without processing it again.
func (r *Receiver) duplicate(w http.ResponseWriter, rc *Receipt) {
	rc.Duplicate, rc.Status = true, http.StatusOK
	if r.keep(w, rc) {
		r.counts.duplicates.Add(1)
		writeAck(w, AckDuplicate, false)
	}
}

// unkept answers 503 with Retry-After to a verified webhook that cannot be
// kept now; it is counted, and journaled only if the journal is writable.
func (r *Receiver) unkept(w http.ResponseWriter, rc *Receipt, why string) {
	r.counts.unkept.Add(1)
	w.Header().Set("Retry-After", "1")
	r.answerError(w, rc, httpapi.Errorf(http.StatusServiceUnavailable, "%s", why))
}

// reject answers bad input with a 4xx and journals it unverified, with
// bounded fields: a forged request must not write megabytes per line.
func (r *Receiver) reject(w http.ResponseWriter, rc *Receipt, counter *atomic.Uint64, err error) {
	counter.Add(1)
	if len(rc.ID) > maxJournaledID {
		rc.ID = rc.ID[:maxJournaledID]
	}
	r.answerError(w, rc, err)
}

// answerError journals rc with err's status and reason, then answers. The
// reason is bounded (echo.Message): library errors quote their input in
// full (a 1 MB webhook-timestamp), and neither the journal nor the answer
// may grow with it.
func (r *Receiver) answerError(w http.ResponseWriter, rc *Receipt, err error) {
	rc.Status = httpapi.StatusOf(err)
	rc.Error = echo.Message(err.Error())
	r.record(rc)
	httpapi.WriteError(w, &httpapi.Error{Status: rc.Status, Msg: rc.Error})
}

// keep journals rc (an acknowledgement about to be written) and, with
// SyncAck, waits until it is on disk. When it cannot be made durable it
// answers 503 with Retry-After itself, turns rc into that answer (in the
// journal too, see journal.void), counts it unkept and reports false: the
// caller must then neither acknowledge nor remember the webhook.
func (r *Receiver) keep(w http.ResponseWriter, rc *Receipt) bool {
	if !r.cfg.SyncAck {
		r.record(rc)
		r.metrics.acked(r.clock.Now(), rc.At)
		return true
	}
	statusOff, ok := r.journal.appendAt(rc, true)
	if ok && rc.Seq > 0 {
		if err := r.durable(rc.Seq); err != nil {
			const why = "the receipt could not be written to disk; retry later"
			rc.Status, rc.Error, rc.Duplicate = http.StatusServiceUnavailable, why, false
			if verr := r.journal.void(*rc, statusOff); verr != nil {
				r.log.Error("journal", "err", verr)
			}
			r.counts.unkept.Add(1)
			if r.cfg.OnReceipt != nil {
				r.cfg.OnReceipt(*rc)
			}
			w.Header().Set("Retry-After", "1")
			httpapi.WriteError(w, httpapi.Errorf(http.StatusServiceUnavailable, "%s", why))
			return false
		}
	}
	if ok && r.cfg.OnReceipt != nil {
		r.cfg.OnReceipt(*rc)
	}
	r.metrics.acked(r.clock.Now(), rc.At)
	return true
}

// record journals rc (giving it its seq) and tells OnReceipt. While the
// journal cannot be written, or its reserved space is down to the margin
// kept for acknowledgements, receipts that acknowledge nothing are only
// counted: they would pile up in memory, or eat the space, ahead of the
// ones that matter.
func (r *Receiver) record(rc *Receipt) {
	if !rc.Acked() && (r.unwritable.Load() || !r.journal.hasRoom()) {
		return
	}
	if r.journal.append(rc) && r.cfg.OnReceipt != nil {
		r.cfg.OnReceipt(*rc)
	}
}

// acker is a ResponseWriter that writes an ack without the header map
// (fastWriter): the ack is every verified webhook's answer.
type acker interface{ ack(body string) }

// writeAck answers 200 with a fixed body; with flush it pushes the answer
// onto the wire now rather than when the handler returns.
func writeAck(w http.ResponseWriter, body string, flush bool) {
	if a, ok := w.(acker); ok {
		a.ack(body)
		return
	}
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
func (r *Receiver) readBody(req webhookRequest) ([]byte, *[]byte, error) {
	limit := r.cfg.MaxBody
	length := req.contentLength()
	if length > limit {
		return nil, nil, httpapi.Errorf(http.StatusRequestEntityTooLarge,
			"body of %d bytes is over the limit of %d bytes", length, limit)
	}
	bp := r.bodies.Get().(*[]byte)
	buf := (*bp)[:0]
	body := req.body()
	if n := length; n >= 0 {
		if int64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(body, buf); err != nil {
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
		n, err := body.Read(buf[len(buf):cap(buf)])
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
