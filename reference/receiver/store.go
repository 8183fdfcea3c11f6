package receiver

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// store keeps the dedupe window across restarts in an append-only file,
// one line per acknowledged id: `<unix-nanoseconds> "<id>"`. A line with
// the time negated, `-<unix-nanoseconds> "<id>"`, is a tombstone: that
// claim was written before its fsync and then not acknowledged (the fsync
// failed, --sync), so the id is forgotten again. A reader that predates
// tombstones sees a claim from 1969 and drops it as expired.
//
// Why a log and not bbolt (which the sender uses for its outbox): the
// window is written once per unique webhook on the hot path and read back
// only at start. An append to an in-memory buffer, written out by the
// flusher every second, costs a few dozen nanoseconds; a bbolt transaction
// per id costs an fsync (a few hundred per second at best), and batching
// bbolt writes to fix that would rebuild this log with a B-tree's page
// copies on top. Lookups never touch the file: the window lives in memory.
// The log is rewritten from the window (compacted) at start and whenever
// it holds twice as many lines as the window, so it stays bounded too.
//
// What it promises: ids acknowledged more than a flush interval before a
// crash are remembered after it (the write has reached the kernel); a clean
// Close fsyncs everything. After kill -9 or power loss, the last second's
// ids may be forgotten and their retries processed again: a duplicate the
// journal shows, never a loss.
type store struct {
	path string
	// pending holds lines not yet written; appended to under window.mu.
	pending []byte

	// The rest belongs to the flusher (serialised by Receiver.flushMu).
	f       *os.File
	spare   []byte
	records int // lines in the file
	gen     int // how many times the file was (re)written whole: SyncAck's slots reopen it when this moves
}

const storeHeader = "hookrig-dedupe v1\n"

// storeCompactMin keeps small logs from being rewritten over and over.
const storeCompactMin = 4096

// openStore reads the log at path (if any), keeps the ids still inside the
// window at time now (at most cfg.MaxEntries, the newest), rewrites the
// file with just those and opens it for appending.
func openStore(path string, cfg DedupeConfig, now time.Time) (*store, []queued, string, error) {
	entries, note, err := readStore(path)
	if err != nil {
		return nil, nil, "", err
	}
	// Keep the newest sighting per id, drop the expired, keep the newest max.
	latest := make(map[string]int64, len(entries))
	for _, e := range entries {
		if e.at < 0 { // a tombstone forgets the claim it names, if it is the newest
			if at, ok := latest[e.id]; ok && at == -e.at {
				delete(latest, e.id)
			}
			continue
		}
		if at, ok := latest[e.id]; !ok || e.at > at {
			latest[e.id] = e.at
		}
	}
	cutoff := now.UnixNano() - int64(cfg.TTL)
	kept := make([]queued, 0, len(latest))
	for id, at := range latest {
		if at > cutoff {
			kept = append(kept, queued{id: id, at: at})
		}
	}
	slices.SortFunc(kept, func(a, b queued) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.id, b.id))
	})
	if len(kept) > cfg.MaxEntries {
		kept = kept[len(kept)-cfg.MaxEntries:]
	}
	s := &store{path: path}
	if err := s.rewrite(kept); err != nil {
		return nil, nil, "", err
	}
	if dropped := len(entries) - len(kept); dropped > 0 {
		note = fmt.Sprintf("%s; dropped %d expired, repeated, forgotten or over-limit lines", note, dropped)
	}
	return s, kept, note, nil
}

// readStore parses the log. A torn last line (a crash mid-write) is
// skipped and mentioned in the note; anything else malformed is an error
// naming path:line.
func readStore(path string) ([]queued, string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, "new dedupe store", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("dedupe store: %w", err)
	}
	if len(data) == 0 {
		return nil, "empty dedupe store", nil
	}
	if !bytes.HasPrefix(data, []byte(storeHeader)) {
		return nil, "", fmt.Errorf("%s:1: not a hookrig dedupe store (want first line %q)", path, storeHeader[:len(storeHeader)-1])
	}
	note := ""
	var out []queued
	rest := data[len(storeHeader):]
	for line := 2; len(rest) > 0; line++ {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			note = fmt.Sprintf("skipped a torn last line (%s:%d, %d bytes): the receiver stopped mid-write", path, line, len(rest))
			break
		}
		text := rest[:i]
		rest = rest[i+1:]
		ts, quoted, ok := bytes.Cut(text, []byte{' '})
		at, err1 := strconv.ParseInt(string(ts), 10, 64)
		id, err2 := strconv.Unquote(string(quoted))
		if !ok || err1 != nil || err2 != nil {
			return nil, "", fmt.Errorf("%s:%d: want `<unix-nanoseconds> \"<webhook-id>\"`, got %q", path, line, truncate(string(text), 80))
		}
		out = append(out, queued{id: id, at: at})
	}
	if note == "" {
		note = fmt.Sprintf("loaded dedupe store (%d lines)", len(out))
	}
	return out, note, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// append queues one line; the caller holds window.mu.
func (s *store) append(id string, at int64) {
	s.pending = strconv.AppendInt(s.pending, at, 10)
	s.pending = append(s.pending, ' ')
	s.pending = strconv.AppendQuote(s.pending, id)
	s.pending = append(s.pending, '\n')
}

// tombstone queues a line that forgets the claim of id at at; the caller
// holds window.mu.
func (s *store) tombstone(id string, at int64) { s.append(id, -at) }

// flush writes the pending lines (taken under w.mu) and compacts the file
// when it has grown to twice the window. sync fsyncs (on Close).
func (s *store) flush(w *window, sync bool) error {
	w.mu.Lock()
	buf := s.pending
	s.pending = s.spare[:0]
	lines := bytes.Count(buf, []byte{'\n'})
	var snap []queued
	if s.records+lines > storeCompactMin && s.records+lines > 2*w.core.Len() {
		snap = w.snapshot() // includes every line in buf
	}
	w.mu.Unlock()
	if snap != nil {
		s.spare = buf[:0]
		return s.rewrite(snap)
	}
	if len(buf) > 0 {
		if n, err := s.f.Write(buf); err != nil {
			// Put the unwritten bytes back in front of newer lines and try
			// again later. Only those: a full disk takes part of a write,
			// and writing that part again would leave a broken line in
			// the middle of the file, which the next start refuses.
			w.mu.Lock()
			s.pending = append(buf[n:], s.pending...)
			w.mu.Unlock()
			s.spare = nil
			return fmt.Errorf("dedupe store %s: %w", s.path, err)
		}
		s.records += lines
	}
	s.spare = buf[:0]
	if sync {
		return s.f.Sync()
	}
	return nil
}

// rewrite replaces the file with the given ids, atomically (temp file,
// fsync, rename, fsync of the directory), and reopens it for appending.
func (s *store) rewrite(entries []queued) error {
	tmp := s.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("dedupe store: %w", err)
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	bw.WriteString(storeHeader)
	var line []byte
	for _, e := range entries {
		line = strconv.AppendInt(line[:0], e.at, 10)
		line = append(line, ' ')
		line = strconv.AppendQuote(line, e.id)
		line = append(line, '\n')
		bw.Write(line)
	}
	err = bw.Flush()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("dedupe store %s: %w", s.path, err)
	}
	syncDir(filepath.Dir(s.path))
	nf, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("dedupe store: %w", err)
	}
	if s.f != nil {
		s.f.Close()
	}
	s.f, s.records = nf, len(entries)
	s.gen++
	return nil
}

// syncDir makes a rename durable; failure only weakens durability, so it
// is not an error (some filesystems refuse to fsync directories).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

func (s *store) close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("dedupe store %s: %w", s.path, err)
	}
	return nil
}
