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
//
// Under SyncAck with a journal file the journal is the store's write-ahead
// log: every acknowledged fresh webhook's receipt (status 2xx, verified,
// not a duplicate) is fsynced in the journal before its 2xx, and that
// receipt holds what the store's line holds (the id, its arrival time).
// So the ack waits for one fsync, the journal's, and the store is fsynced
// once a flush interval, after which a checkpoint line `0 "<seq>"` says
// that the store holds the ids of every receipt up to journal seq <seq>.
// At start the journal's receipts after the last checkpoint are put back
// in the window (replayAfter). A reader that predates checkpoints sees a
// claim from 1970 and drops it as expired.
type store struct {
	path string
	// checkpoints: the journal backs the store (see above); compaction
	// then keeps pending claims too.
	checkpoints bool
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

// replayFunc calls add for the id and arrival time of every acknowledged
// fresh webhook in the journal after seq since, and returns the journal's
// last seq.
type replayFunc func(since uint64, add func(id string, at int64)) (last uint64, err error)

// openStore reads the log at path (if any), keeps the ids still inside the
// window at time now (at most cfg.MaxEntries, the newest), rewrites the
// file with just those and opens it for appending. With replay (the
// journal backs the store, see store) the ids the journal holds after the
// store's last checkpoint are added first.
func openStore(path string, cfg DedupeConfig, now time.Time, replay replayFunc) (*store, []queued, string, error) {
	entries, checkpoint, note, err := readStore(path)
	if err != nil {
		return nil, nil, "", err
	}
	var last uint64
	if replay != nil {
		n := 0
		last, err = replay(checkpoint, func(id string, at int64) {
			entries = append(entries, queued{id: id, at: at})
			n++
		})
		if err != nil {
			return nil, nil, "", fmt.Errorf("dedupe store %s: replaying the journal after seq %d: %w", path, checkpoint, err)
		}
		if n > 0 {
			note = fmt.Sprintf("%s; put back %d ids from the journal after seq %d", note, n, checkpoint)
		}
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
	s := &store{path: path, checkpoints: replay != nil}
	if err := s.rewrite(kept, last); err != nil {
		return nil, nil, "", err
	}
	if dropped := len(entries) - len(kept); dropped > 0 {
		note = fmt.Sprintf("%s; dropped %d expired, repeated, forgotten or over-limit lines", note, dropped)
	}
	return s, kept, note, nil
}

// readStore parses the log and finds its last checkpoint (0 without
// one). A torn last line (a crash mid-write) is skipped and mentioned in
// the note; anything else malformed is an error naming path:line.
func readStore(path string) ([]queued, uint64, string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, "new dedupe store", nil
	}
	if err != nil {
		return nil, 0, "", fmt.Errorf("dedupe store: %w", err)
	}
	if len(data) == 0 {
		return nil, 0, "empty dedupe store", nil
	}
	if !bytes.HasPrefix(data, []byte(storeHeader)) {
		return nil, 0, "", fmt.Errorf("%s:1: not a hookrig dedupe store (want first line %q)", path, storeHeader[:len(storeHeader)-1])
	}
	var checkpoint uint64
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
			return nil, 0, "", fmt.Errorf("%s:%d: want `<unix-nanoseconds> \"<webhook-id>\"`, got %q", path, line, truncate(string(text), 80))
		}
		if at == 0 { // a checkpoint: `0 "<journal seq>"`
			seq, err := strconv.ParseUint(id, 10, 64)
			if err != nil {
				return nil, 0, "", fmt.Errorf("%s:%d: want a checkpoint `0 \"<journal seq>\"`, got %q", path, line, truncate(string(text), 80))
			}
			checkpoint = seq
			continue
		}
		out = append(out, queued{id: id, at: at})
	}
	if note == "" {
		note = fmt.Sprintf("loaded dedupe store (%d lines)", len(out))
	}
	return out, checkpoint, note, nil
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
// when it has grown to twice the window. sync fsyncs; then, with
// checkpoints, a checkpoint of covered is queued for the next write: the
// ids of every receipt up to journal seq covered were appended (claimed)
// before the caller read covered, so they are in what was just fsynced.
// A compaction (fsynced whole) carries its checkpoint itself, sync or not.
// The checkpoint goes out after the fsync, never with the lines it
// vouches for, so it cannot reach the disk before them.
func (s *store) flush(w *window, covered uint64, sync bool) error {
	w.mu.Lock()
	buf := s.pending
	s.pending = s.spare[:0]
	lines := bytes.Count(buf, []byte{'\n'})
	var snap []queued
	if s.records+lines > storeCompactMin && s.records+lines > 2*w.core.Len() {
		snap = w.snapshot(s.checkpoints) // includes every line in buf
	}
	w.mu.Unlock()
	if snap != nil {
		s.spare = buf[:0]
		if !s.checkpoints {
			covered = 0
		}
		return s.rewrite(snap, covered) // fsynced before the rename
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
	if !sync {
		return nil
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("dedupe store %s: %w", s.path, err)
	}
	if s.checkpoints && covered > 0 {
		w.mu.Lock()
		s.pending = appendCheckpoint(s.pending, covered)
		w.mu.Unlock()
	}
	return nil
}

// appendCheckpoint appends the line `0 "<seq>"`.
func appendCheckpoint(b []byte, seq uint64) []byte {
	b = append(b, `0 "`...)
	b = strconv.AppendUint(b, seq, 10)
	return append(b, "\"\n"...)
}

// rewrite replaces the file with the given ids and, when not 0, a
// checkpoint, atomically (temp file, fsync, rename, fsync of the
// directory), and reopens it for appending.
func (s *store) rewrite(entries []queued, checkpoint uint64) error {
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
	if checkpoint > 0 {
		bw.Write(appendCheckpoint(line[:0], checkpoint))
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
	s.f, s.records = nf, len(entries)+min(int(checkpoint), 1)
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
