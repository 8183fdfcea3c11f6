package receiver

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"sync"

	"github.com/hookrig/hookrig/internal/echo"
)

// journal records every receipt: a line of JSON in a file (when a path is
// given) and the latest receipts in a ring in memory.
//
// The request path only encodes the line into a buffer under mu; the
// flusher goroutine writes the buffer to the file (every FlushInterval, or
// sooner once it passes journalFlushAt), so no request waits for the disk
// unless the disk falls journalMaxBuffered behind. Reading receipts older
// than the ring goes to the file through a sparse seq -> offset index.
type journal struct {
	mu      sync.Mutex
	drained *sync.Cond  // the flusher took the buffer (appenders may be waiting)
	buf     []byte      // lines encoded, not yet written
	next    uint64      // seq of the next receipt
	first   uint64      // first seq of this run: the ring holds nothing older
	end     int64       // file offset just past the last encoded line
	ring    receiptRing // the latest receipts (ring.go)
	marks   []mark      // every markEvery-th line's seq and offset, ascending
	closed  bool
	kick    chan struct{} // wakes the flusher early
	// reserved is the file offset up to which disk space is allocated
	// ahead of the lines (see reserve); math.MaxInt64 without a file or
	// where the filesystem cannot reserve.
	reserved int64
	// roomy is signalled when a reservation attempt ends; noRoom says the
	// last one was refused (the disk is full), so nobody should wait.
	roomy  *sync.Cond
	noRoom bool

	// The file side, serialised by wmu (the flusher, Flush, Receipts).
	wmu   sync.Mutex
	path  string
	f     *os.File
	spare []byte
}

type mark struct {
	seq uint64
	off int64
}

// Space reserved ahead of the journal's lines. A webhook is acknowledged
// (without --sync) only while at least reserveMargin of reserved space is
// left past the lines encoded so far, so the lines of every acknowledged
// webhook have their blocks before the ack goes out: a disk that fills up
// afterwards cannot keep them from the file, even if it stays full
// through shutdown. The margin covers the requests admitted concurrently
// (a line is at most a few KiB, with bounded fields; usually ~200 bytes).
const (
	reserveAhead  = 4 << 20
	reserveMargin = 128 << 10
	reserveMin    = 64 << 10
)

// errNoReserve: the filesystem cannot allocate ahead (no fallocate).
var errNoReserve = errors.New("the filesystem cannot reserve space")

const (
	journalFlushAt     = 256 << 10
	journalMaxBuffered = 16 << 20
	markEvery          = 1024
	// DefaultReceiptLog is how many recent receipts are held in memory.
	DefaultReceiptLog = 1 << 16
)

// openJournal opens (or creates) the journal at path, carrying on from the
// last seq it holds; path "" keeps receipts in memory only. Its space is
// reserved by the first reserve (New calls it once the dedupe store, which
// is opened after the journal and rewritten at open, has its space).
func openJournal(path string, ringSize int) (*journal, string, error) {
	j := &journal{path: path, next: 1, ring: newReceiptRing(ringSize), kick: make(chan struct{}, 1), reserved: math.MaxInt64}
	j.drained = sync.NewCond(&j.mu)
	j.roomy = sync.NewCond(&j.mu)
	note := ""
	if path != "" {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, "", fmt.Errorf("journal: %w", err)
		}
		note, err = j.index(f)
		if err != nil {
			f.Close()
			return nil, "", err
		}
		if _, err := f.Seek(j.end, io.SeekStart); err != nil {
			f.Close()
			return nil, "", fmt.Errorf("journal: %w", err)
		}
		j.f = f
		j.reserved = j.end
	}
	j.first = j.next
	return j, note, nil
}

// index scans an existing journal: it finds the last seq, builds the
// sparse index and cuts off a torn last line (a crash mid-write), which
// could not be read back anyway. Anything else that is not a receipt line
// is an error naming path:line, so a wrong --journal path is not appended to.
func (j *journal) index(f *os.File) (string, error) {
	r := bufio.NewReaderSize(f, 256<<10)
	var off int64
	var last uint64
	note := ""
	for line := 1; ; line++ {
		b, err := r.ReadBytes('\n')
		if err == io.EOF {
			if len(b) > 0 {
				if err := f.Truncate(off); err != nil {
					return "", fmt.Errorf("journal: cutting torn last line: %w", err)
				}
				note = fmt.Sprintf("cut a torn last line (%s:%d, %d bytes): the receiver stopped mid-write", j.path, line, len(b))
			}
			break
		}
		if err != nil {
			return "", fmt.Errorf("journal: %w", err)
		}
		seq, ok := lineSeq(b)
		if !ok {
			return "", fmt.Errorf("%s:%d: not a receipt journal line (want a JSON object with \"seq\"): %q", j.path, line, truncate(string(bytes.TrimSpace(b)), 80))
		}
		if seq <= last {
			return "", fmt.Errorf("%s:%d: seq %d after %d: receipts must be in increasing seq order", j.path, line, seq, last)
		}
		if len(j.marks) == 0 || seq-j.marks[len(j.marks)-1].seq >= markEvery {
			j.marks = append(j.marks, mark{seq: seq, off: off})
		}
		last = seq
		off += int64(len(b))
	}
	j.end = off
	j.next = last + 1
	if note == "" && last > 0 {
		note = fmt.Sprintf("appending to journal %s after seq %d", j.path, last)
	}
	return note, nil
}

// lineSeq reads the seq of a journal line: the fast path is the line this
// package writes, the slow path any JSON object with a seq.
func lineSeq(b []byte) (uint64, bool) {
	const prefix = `{"seq":`
	if rest, ok := bytes.CutPrefix(b, []byte(prefix)); ok {
		if i := bytes.IndexByte(rest, ','); i > 0 {
			if n, err := strconv.ParseUint(string(rest[:i]), 10, 64); err == nil {
				return n, true
			}
		}
	}
	var v struct {
		Seq *uint64 `json:"seq"`
	}
	if json.Unmarshal(b, &v) != nil || v.Seq == nil {
		return 0, false
	}
	return *v.Seq, true
}

// append gives rc its seq and records it. It reports false once the
// journal is closed.
func (j *journal) append(rc *Receipt) bool {
	_, ok := j.appendAt(rc, false)
	return ok
}

// statusKey precedes the status digits in a journal line; it occurs once
// per line, since inside the JSON strings before it every quote is escaped.
const statusKey = `","status":`

// appendAt is append that, with wantStatus, also returns the file offset
// of the line's status digits (-1 without a file), for void.
func (j *journal) appendAt(rc *Receipt, wantStatus bool) (statusOff int64, ok bool) {
	j.mu.Lock()
	for len(j.buf) >= journalMaxBuffered && !j.closed {
		j.drained.Wait() // the disk is behind: hold requests rather than memory
	}
	if j.closed {
		j.mu.Unlock()
		return -1, false
	}
	rc.Seq = j.next
	j.next++
	kick := false
	statusOff = -1
	if j.f != nil {
		if len(j.marks) == 0 || rc.Seq-j.marks[len(j.marks)-1].seq >= markEvery {
			j.marks = append(j.marks, mark{seq: rc.Seq, off: j.end})
		}
		n := len(j.buf)
		j.buf = rc.appendJSON(j.buf)
		if wantStatus {
			statusOff = j.end + int64(bytes.Index(j.buf[n:], []byte(statusKey))+len(statusKey))
		}
		j.end += int64(len(j.buf) - n)
		kick = len(j.buf) >= journalFlushAt
	}
	j.ring.put(rc)
	j.mu.Unlock()
	if kick {
		select {
		case j.kick <- struct{}{}:
		default:
		}
	}
	return statusOff, true
}

// void rewrites the status of a receipt already appended (rc carries its
// seq and the status the client actually got, e.g. 503 after a failed
// fsync) so that the journal never says 200 for an answer that was not.
// The line keeps its length: only the three status digits change, in the
// buffer or, for the part already written, in the file (overwriting bytes
// in place needs no new space on a full disk). The ring gets rc whole.
func (j *journal) void(rc Receipt, statusOff int64) error {
	digits := strconv.Itoa(rc.Status)
	j.wmu.Lock() // no flush is moving bytes from the buffer to the file
	defer j.wmu.Unlock()
	j.mu.Lock()
	if j.ring.holds(rc.Seq) {
		j.ring.put(&rc)
	}
	f := j.f
	var inFile []int64
	if f != nil && statusOff >= 0 && len(digits) == 3 {
		bufStart := j.end - int64(len(j.buf))
		for k := range int64(3) {
			if o := statusOff + k; o >= bufStart {
				j.buf[o-bufStart] = digits[k]
			} else {
				inFile = append(inFile, k)
			}
		}
	}
	j.mu.Unlock()
	var err error
	for _, k := range inFile {
		if _, werr := f.WriteAt([]byte{digits[k]}, statusOff+k); werr != nil {
			err = werr
		}
	}
	if len(inFile) > 0 && err == nil {
		err = f.Sync()
	}
	if err != nil {
		return fmt.Errorf("journal %s: correcting seq %d to status %s: %w", j.path, rc.Seq, digits, err)
	}
	return nil
}

// flush writes the buffered lines to the file; with sync it also fsyncs.
func (j *journal) flush(sync bool) error {
	j.wmu.Lock()
	defer j.wmu.Unlock()
	j.mu.Lock()
	f := j.f
	if f == nil {
		j.mu.Unlock()
		return nil
	}
	buf := j.buf
	j.buf = j.spare[:0]
	j.drained.Broadcast()
	j.mu.Unlock()
	if len(buf) > 0 {
		if n, err := f.Write(buf); err != nil {
			j.refuseRoom() // nothing written can be promised now
			// Keep the unwritten lines, in order, for the next try: the
			// newer lines go after them in buf's own array, so a disk
			// that stays full costs a copy of what arrived meanwhile, not
			// of the whole backlog, per try.
			j.mu.Lock()
			newer := j.buf
			j.buf = append(buf[n:], newer...)
			j.spare = newer[:0]
			j.mu.Unlock()
			return fmt.Errorf("journal %s: %w", j.path, err)
		}
	}
	j.spare = buf[:0]
	if sync {
		if err := f.Sync(); err != nil {
			j.refuseRoom()
			return fmt.Errorf("journal %s: %w", j.path, err)
		}
	}
	return j.reserve()
}

// room reports whether a webhook may be acknowledged now: enough space is
// reserved past the lines encoded so far. When not, it wakes the flusher
// and waits for its attempt to reserve more (backpressure while the disk
// keeps up, as append's wait for a drained buffer), unless the last
// attempt was refused: then the answer is no at once.
func (j *journal) room() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.reserved-j.end < reserveMargin {
		if j.noRoom || j.closed {
			return false
		}
		select {
		case j.kick <- struct{}{}:
		default:
		}
		j.roomy.Wait()
	}
	return true
}

// refuseRoom records a write the disk refused: room says no at once (and
// wakes those waiting) until a reservation succeeds again.
func (j *journal) refuseRoom() {
	j.mu.Lock()
	j.noRoom = true
	j.roomy.Broadcast()
	j.mu.Unlock()
}

// hasRoom is room without waking the flusher.
func (j *journal) hasRoom() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.reserved-j.end >= reserveMargin
}

// reserve allocates up to reserveAhead past the lines once less than half
// of it is left, halving the request down to reserveMin on a full disk.
// Callers hold wmu (or own the journal, at open). It reports whether the
// disk refused.
func (j *journal) reserve() error {
	j.mu.Lock()
	end, reserved, f, closed := j.end, j.reserved, j.f, j.closed
	j.mu.Unlock()
	if f == nil || closed || reserved == math.MaxInt64 || reserved-end >= reserveAhead/2 {
		return nil
	}
	// Extend the reservation from where it ends (allocating inside it
	// again would succeed without adding room), halving on a full disk.
	var err error
	for n := reserveAhead - (reserved - end); n >= reserveMin; n /= 2 {
		err = allocate(f, reserved, n)
		if err != nil && !errors.Is(err, errNoReserve) {
			continue
		}
		j.mu.Lock()
		if err == nil {
			j.reserved = max(j.reserved, reserved+n)
		} else {
			j.reserved = math.MaxInt64 // acknowledge as without reservation
		}
		left := j.reserved - j.end
		j.noRoom = left < reserveMargin
		j.roomy.Broadcast()
		j.mu.Unlock()
		if left < reserveMargin {
			return fmt.Errorf("journal %s: only %d bytes of disk space could be reserved ahead, want %d", j.path, left, reserveMargin)
		}
		return nil
	}
	// The disk gave nothing more: that is only a failure once what is
	// reserved is down to the margin.
	j.mu.Lock()
	j.noRoom = j.reserved-j.end < reserveMargin
	j.roomy.Broadcast()
	noRoom := j.noRoom
	j.mu.Unlock()
	if noRoom {
		return fmt.Errorf("journal %s: reserving space: %w", j.path, err)
	}
	return nil
}

// close refuses further appends, then flushes, fsyncs and closes the file.
func (j *journal) close() error {
	j.mu.Lock()
	j.closed = true
	j.drained.Broadcast()
	j.roomy.Broadcast()
	j.mu.Unlock()
	err := j.flush(true)
	j.wmu.Lock()
	defer j.wmu.Unlock()
	j.mu.Lock()
	f := j.f
	j.f = nil // under both locks: append reads it under mu, flush under wmu
	j.mu.Unlock()
	if f != nil {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("journal %s: %w", j.path, cerr)
		}
	}
	return err
}

// status reports the last seq handed out and how many bytes wait.
func (j *journal) status() (last uint64, buffered int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.next - 1, len(j.buf)
}

// receipts returns up to limit receipts with seq > since, in seq order
// (limit <= 0: all that are held). Recent ones come from the ring; older
// ones from the file, when there is one.
func (j *journal) receipts(since uint64, limit int) ([]Receipt, error) {
	var out []Receipt
	j.mu.Lock()
	low := j.ringLow()
	fromFile := j.path != "" && since+1 < low
	j.mu.Unlock()
	if fromFile {
		var err error
		out, err = j.readFile(since, limit)
		if err != nil {
			return nil, err
		}
		if len(out) > 0 {
			since = out[len(out)-1].Seq
		}
		if limit > 0 && len(out) >= limit {
			return out, nil
		}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	low = j.ringLow()
	if fromFile && since+1 < low {
		return out, nil // the ring moved on while we read: the caller asks again from here
	}
	for seq := max(since+1, low); seq < j.next; seq++ {
		if limit > 0 && len(out) >= limit {
			break
		}
		out = append(out, j.ring.get(seq))
	}
	return out, nil
}

// ringLow is the oldest seq the ring still holds. Callers hold mu.
func (j *journal) ringLow() uint64 {
	low := j.first
	if n := uint64(len(j.ring)); j.next > n && j.next-n > low {
		low = j.next - n
	}
	return low
}

// readFile reads receipts with seq > since from the file, starting at the
// last index mark at or before since+1.
func (j *journal) readFile(since uint64, limit int) ([]Receipt, error) {
	if err := j.flush(false); err != nil {
		return nil, err
	}
	j.mu.Lock()
	i := sort.Search(len(j.marks), func(i int) bool { return j.marks[i].seq > since+1 }) - 1
	off := int64(0)
	if i >= 0 {
		off = j.marks[i].off
	}
	j.mu.Unlock()
	var out []Receipt
	err := j.scan(off, since, func(rc Receipt) bool {
		out = append(out, rc)
		return limit <= 0 || len(out) < limit
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scan reads the receipts with seq > since from the file, starting at
// offset off, and calls each until it returns false.
func (j *journal) scan(off int64, since uint64, each func(Receipt) bool) error {
	f, err := os.Open(j.path)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	r := bufio.NewReaderSize(f, 64<<10)
	for {
		b, err := r.ReadBytes('\n')
		if err == io.EOF {
			return nil // a line still being written is not complete: stop before it
		}
		if err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		seq, ok := lineSeq(b)
		if !ok || seq <= since {
			continue
		}
		var rc Receipt
		if err := json.Unmarshal(b, &rc); err != nil {
			return fmt.Errorf("journal %s: seq %d: %w", j.path, seq, err)
		}
		// A journal written before reasons were bounded may hold
		// megabyte-long ones: they are not served whole.
		rc.Error = echo.Message(rc.Error)
		if !each(rc) {
			return nil
		}
	}
}

// replayAfter calls add for every acknowledged fresh webhook (a verified
// 2xx that was not a duplicate, with an id) journaled after seq since,
// and returns the last seq: what the dedupe store must hold when the
// journal backs it (see store). Called at open, before any append.
func (j *journal) replayAfter(since uint64, add func(id string, at int64)) (uint64, error) {
	if j.f == nil {
		return j.next - 1, nil
	}
	if since > j.next-1 {
		// The checkpoint is past this journal's end: it was written
		// against another journal file, so all of this one is replayed.
		since = 0
	}
	i := sort.Search(len(j.marks), func(i int) bool { return j.marks[i].seq > since+1 }) - 1
	off := int64(0)
	if i >= 0 {
		off = j.marks[i].off
	}
	err := j.scan(off, since, func(rc Receipt) bool {
		if rc.Acked() && rc.Verified && !rc.Duplicate && rc.ID != "" {
			add(rc.ID, rc.At.UnixNano())
		}
		return true
	})
	return j.next - 1, err
}
