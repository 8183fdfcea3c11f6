package receiver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/hookrig/hookrig/internal/capture"
	"github.com/hookrig/hookrig/internal/httpapi"
)

// CaptureConfig has the receiver store every webhook request whole, before
// it is verified, so that it can be replayed (hookrig replay) or used as
// load-test payloads.
type CaptureConfig struct {
	// Path is the capture file (JSON lines, see internal/capture); empty:
	// no capture.
	Path string
	// MaxBytes is the size the file rotates at (to Path.1, ...). Default
	// 100 MiB.
	MaxBytes int64
	// Keep is how many rotated files are kept. Default 1.
	Keep int
	// Only accepts (200) every request without verifying or deduplicating
	// it: to capture a provider's real webhooks. Secrets are then optional.
	Only bool
}

// CaptureStats are the capture's counters (nil without capture).
type CaptureStats = capture.Stats

// AckCaptured answers a request under CaptureConfig.Only.
const AckCaptured = `{"received":true,"captured":true}` + "\n"

// webhook is where both HTTP fronts hand a webhook request: captured
// first when a capture file is configured (every request, good or bad,
// before verification), then served.
func (r *Receiver) webhook(w http.ResponseWriter, req webhookRequest) {
	if r.capture != nil {
		r.captured(w, req)
		return
	}
	r.serveWebhook(w, req)
}

// captured reads the body up to MaxBody+1 bytes, writes the request to the
// capture file, and serves the request with the same bytes (and the rest
// of an oversized body) to read. A body over MaxBody is not captured
// whole, the line says so, and serveWebhook reads the whole stream as
// before (it answers 413).
func (r *Receiver) captured(w http.ResponseWriter, req webhookRequest) {
	limit := r.cfg.MaxBody
	rest := req.body()
	body, err := io.ReadAll(io.LimitReader(rest, limit+1))
	c := capture.Request{
		At: r.clock.Now(), Method: req.method(), Path: req.requestURI(),
		Header: req.headers().Clone(), Body: body, Size: int64(len(body)), Remote: req.remoteAddr(),
	}
	switch {
	case err != nil:
		c.Cut = "the body could not be read whole: " + err.Error()
	case int64(len(body)) > limit:
		c.Body = nil
		c.Cut = fmt.Sprintf("body over the receiver's limit of %d bytes: not captured", limit)
	}
	werr := r.capture.Write(&c)
	if werr != nil {
		r.log.Error("capture write failed", "err", werr)
	}
	if r.cfg.Capture.Only {
		// Only what is in the file is acknowledged: a provider then
		// retries what was not kept (and after Shutdown the writer is
		// closed, so this is also the "shutting down" answer).
		if werr != nil {
			w.Header().Set("Retry-After", "1")
			httpapi.WriteError(w, httpapi.Errorf(http.StatusServiceUnavailable, "the capture file cannot be written; retry later"))
			return
		}
		if err != nil {
			httpapi.WriteError(w, httpapi.Errorf(http.StatusBadRequest, "the body could not be read: %v", err))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, AckCaptured)
		return
	}
	r.serveWebhook(w, withBody{req, io.MultiReader(bytes.NewReader(body), rest)})
}

// openCapture opens the capture file when one is configured.
func openCapture(c CaptureConfig) (*capture.Writer, error) {
	if c.Path == "" {
		if c.Only {
			return nil, errors.New("receiver: capture-only needs a capture file")
		}
		return nil, nil
	}
	return capture.Create(c.Path, c.MaxBytes, c.Keep)
}

// captureStats is Stats' view of the capture (nil without one).
func (r *Receiver) captureStats() *CaptureStats {
	if r.capture == nil {
		return nil
	}
	s := r.capture.Stats()
	return &s
}
