// Package capture is the file format of captured HTTP requests: one JSON
// line per request, the body base64-encoded so that its bytes come back
// exactly. The receiver writes it (--capture); replay and loadgen read it.
// It knows HTTP requests, not webhooks: a capture of any POST is valid.
package capture

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"os"
	"sync"
	"time"
)

// Request is one captured request, as its JSON line holds it.
type Request struct {
	At     time.Time   `json:"at"` // arrival time at the receiver
	Method string      `json:"method"`
	Path   string      `json:"path"`          // path and query, as sent
	Header http.Header `json:"headers"`       // every header, canonical names
	Body   []byte      `json:"body"`          // exact bytes (base64 in the file)
	Size   int64       `json:"size"`          // body length; past the limit, at least limit+1
	Cut    string      `json:"cut,omitempty"` // why Body is not the whole body (set only then)
	Remote string      `json:"remote,omitempty"`
}

// Whole says the body was captured whole, so the request can be re-sent.
func (r *Request) Whole() bool { return r.Cut == "" }

// DefaultMaxBytes is the size a capture file grows to before it rotates.
const DefaultMaxBytes = 100 << 20

// bufferSize is how much is written at once: a kill -9 loses at most this
// much (and whatever arrived since the last Flush).
const bufferSize = 64 << 10

// Writer appends requests to a capture file. When the file would grow
// past MaxBytes it is renamed to FILE.1 (FILE.1 to FILE.2, ... up to Keep
// files; the oldest is removed) and a new FILE is started. Safe for
// concurrent use.
type Writer struct {
	path     string
	maxBytes int64
	keep     int

	mu     sync.Mutex
	f      *os.File
	w      *bufio.Writer
	size   int64
	line   []byte
	stats  Stats
	closed bool
}

// Stats counts what a Writer did.
type Stats struct {
	Path      string `json:"path"`
	Captured  uint64 `json:"captured"`  // requests written
	Cut       uint64 `json:"cut"`       // of which the body was not whole
	Rotations uint64 `json:"rotations"` // files rotated out
	Errors    uint64 `json:"errors"`    // writes that failed (those requests are not in the file)
}

// Create opens (appends to) the capture file at path. maxBytes <= 0 means
// DefaultMaxBytes; keep < 1 means 1 rotated file.
func Create(path string, maxBytes int64, keep int) (*Writer, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	keep = max(keep, 1)
	w := &Writer{path: path, maxBytes: maxBytes, keep: keep, stats: Stats{Path: path}}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Writer) open() error {
	f, err := os.OpenFile(w.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("capture: %w", err)
	}
	w.f, w.size = f, st.Size()
	if w.w == nil {
		w.w = bufio.NewWriterSize(f, bufferSize)
	} else {
		w.w.Reset(f)
	}
	return nil
}

// Write appends one request. A failed write is counted and returned; the
// request is then not in the file.
func (w *Writer) Write(r *Request) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errors.New("capture: writer is closed")
	}
	line, err := json.Marshal(r)
	if err != nil {
		w.stats.Errors++
		return fmt.Errorf("capture: %w", err)
	}
	line = append(line, '\n')
	if w.size > 0 && w.size+int64(len(line)) > w.maxBytes {
		if err := w.rotate(); err != nil {
			w.stats.Errors++
			return err
		}
	}
	if _, err := w.w.Write(line); err != nil {
		w.stats.Errors++
		return fmt.Errorf("capture: %w", err)
	}
	w.size += int64(len(line))
	w.stats.Captured++
	if !r.Whole() {
		w.stats.Cut++
	}
	return nil
}

// rotate shifts FILE.(k-1) to FILE.k ... FILE to FILE.1 and starts FILE.
func (w *Writer) rotate() error {
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	for i := w.keep - 1; i >= 1; i-- {
		// A missing older file is normal until keep rotations happened.
		if err := os.Rename(fmt.Sprintf("%s.%d", w.path, i), fmt.Sprintf("%s.%d", w.path, i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("capture: rotating: %w", err)
		}
	}
	if err := os.Rename(w.path, w.path+".1"); err != nil {
		return fmt.Errorf("capture: rotating: %w", err)
	}
	w.stats.Rotations++
	return w.open()
}

// Flush writes buffered lines to the file (no fsync).
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	return w.w.Flush()
}

// Stats returns the counters now.
func (w *Writer) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

// Close flushes, fsyncs and closes the file. Later writes fail.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	return errors.Join(w.w.Flush(), w.f.Sync(), w.f.Close())
}

// maxLine bounds one line when reading: a body at the receiver's largest
// limit, base64-encoded, plus headers.
const maxLine = 64 << 20

// Read yields the requests of a capture file in order. A line that is
// not a captured request stops the reading with an error naming the line.
func Read(rd io.Reader, name string) iter.Seq2[*Request, error] {
	return func(yield func(*Request, error) bool) {
		sc := bufio.NewScanner(rd)
		sc.Buffer(make([]byte, 0, 64<<10), maxLine)
		n := 0
		for sc.Scan() {
			n++
			b := bytes.TrimSpace(sc.Bytes())
			if len(b) == 0 {
				continue
			}
			var r Request
			if err := json.Unmarshal(b, &r); err != nil {
				yield(nil, fmt.Errorf("%s:%d: not a captured request (a JSON line from receiver --capture): %v", name, n, err))
				return
			}
			if r.Method == "" || r.At.IsZero() {
				yield(nil, fmt.Errorf("%s:%d: not a captured request: want \"at\" and \"method\" fields", name, n))
				return
			}
			if !yield(&r, nil) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			yield(nil, fmt.Errorf("%s: %w", name, err))
		}
	}
}

// Load reads a whole capture file. Captures are bounded by the receiver's
// rotation size, so holding one in memory is fine.
func Load(path string) ([]*Request, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	defer f.Close()
	var out []*Request
	for r, err := range Read(f, path) {
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no captured requests in it (want JSON lines from 'hookrig receiver --capture')", path)
	}
	return out, nil
}
