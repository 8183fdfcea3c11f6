package receiver

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

// smallDisk mounts a 1 MiB tmpfs for the test and unmounts it in Cleanup
// (register it before the receiver, so the receiver closes first). It
// needs root (CI runs the tests as root); elsewhere the test is skipped,
// and runs with: sudo go test -run DiskFull ./reference/receiver
type smallDisk struct {
	t      *testing.T
	dir    string
	filler string
}

func mountSmallDisk(t *testing.T) *smallDisk {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a 1 MiB tmpfs (CI runs as root): sudo go test -run DiskFull ./reference/receiver")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v): the disk-full tests need CAP_SYS_ADMIN", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmounting the test tmpfs %s: %v", dir, err)
		}
	})
	d := &smallDisk{t: t, dir: dir, filler: filepath.Join(dir, "filler")}
	// Half the disk is taken before the receiver starts, so that the
	// space it reserves ahead is less than the disk and free gives back
	// enough for it to reserve again.
	if err := os.WriteFile(d.filler, make([]byte, 512<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

// fill takes every free byte (bounded: 64 writes of 64 KiB, four times
// the disk).
func (d *smallDisk) fill() {
	d.t.Helper()
	f, err := os.OpenFile(d.filler, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		d.t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for range 64 {
		if _, err := f.Write(chunk); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return
			}
			d.t.Fatal(err)
		}
	}
	d.t.Fatal("a 1 MiB tmpfs took 4 MiB: it is not the small disk the test needs")
}

// free gives the space back.
func (d *smallDisk) free() {
	d.t.Helper()
	if err := os.Remove(d.filler); err != nil {
		d.t.Fatal(err)
	}
}

// journalStatuses reads a journal file: every status journaled per id.
func journalStatuses(t *testing.T, path string) map[string][]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rc Receipt
		if err := json.Unmarshal(sc.Bytes(), &rc); err != nil {
			t.Fatalf("journal line %q: %v", sc.Text(), err)
		}
		out[rc.ID] = append(out[rc.ID], rc.Status)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// flushTick moves the fake clock by d and waits until the flusher, having
// flushed, arms its next timer.
func (g *rig) flushTick(d time.Duration) {
	created := g.clock.TimerCreated()
	g.clock.Advance(d)
	select {
	case <-created:
	case <-time.After(20 * time.Second): // bounds the test only
		g.t.Fatal("the flusher did not run")
	}
}

// Finding 1: with --sync on a full disk, a webhook whose receipt could not
// be fsynced is answered 503, is not counted unique, is not remembered (its
// retry after space comes back is processed, not called a duplicate), and
// the journal never says 200 for it.
func TestSyncAckDiskFull(t *testing.T) {
	disk := mountSmallDisk(t)
	journal := filepath.Join(disk.dir, "receipts.jsonl")
	g := newRig(t, Config{JournalPath: journal, Dedupe: DedupeConfig{Path: filepath.Join(disk.dir, "dedupe.log")}, SyncAck: true})
	if a := g.post("msg_before", 1); a.Status != 200 {
		t.Fatalf("with space: %d %s", a.Status, a.Body)
	}
	disk.fill()
	// The files' last pages and the journal's reserved space still take
	// some lines: post until the receiver says no, and then some.
	answered, refused := postUntilRefused(g, "msg_full", 20)
	n := len(answered)
	st := g.r.Stats()
	checkBalance(t, st)
	if want := uint64(1 + n - len(refused)); st.Unique != want || st.Unkept != uint64(len(refused)) {
		t.Errorf("unique %d unkept %d, want %d and %d", st.Unique, st.Unkept, want, len(refused))
	}
	for _, id := range refused {
		if g.r.window.seen(id, g.clock.Now()) {
			t.Fatalf("%s was answered 503 but is in the dedupe window", id)
		}
	}
	for _, rc := range g.r.Receipts(0, 0) {
		if rc.Acked() && answered[rc.ID] == http.StatusServiceUnavailable {
			t.Fatalf("receipt %d says %d for %s, answered 503", rc.Seq, rc.Status, rc.ID)
		}
	}
	// Space comes back; the next flush succeeds; the retries are fresh.
	disk.free()
	g.flushTick(time.Second)
	for _, id := range refused {
		if a := g.post(id, 2); a.Status != 200 || string(a.Body) != AckFresh {
			t.Fatalf("retry of %s after space came back: %d %s, want 200 %s", id, a.Status, a.Body, AckFresh)
		}
	}
	if st := g.r.Stats(); st.Unique != uint64(n+1) {
		t.Errorf("unique %d after the retries, want %d", st.Unique, n+1)
	}
	if err := g.r.Close(); err != nil {
		t.Fatal(err)
	}
	statuses := journalStatuses(t, journal)
	for id, code := range answered {
		got := statuses[id]
		ok200 := 0
		for _, s := range got {
			if s == 200 {
				ok200++
			}
		}
		// Answered 200: one 200 line. Answered 503: its line (if any)
		// says 503, and the one 200 is the retry's.
		if ok200 != 1 || (code == 503 && got[len(got)-1] != 200) {
			t.Errorf("%s answered %d, journaled %v", id, code, got)
		}
	}
}

// postUntilRefused posts fresh webhooks (at most 20,000) until one is
// refused, then extra more, checking that each refusal is a 503 with
// Retry-After whose id is not in the dedupe window. It returns every
// answer's status and the refused ids.
func postUntilRefused(g *rig, prefix string, extra int) (map[string]int, []string) {
	g.t.Helper()
	answered := map[string]int{}
	var refused []string
	for i := 0; i < 20_000 && len(refused) <= extra; i++ {
		id := fmt.Sprintf("%s_%d", prefix, i)
		a := g.post(id, 1)
		answered[id] = a.Status
		if a.Status == 200 {
			if len(refused) > 0 {
				g.t.Fatalf("%s acknowledged after %d refusals on a disk still full", id, len(refused))
			}
			continue
		}
		if a.Status != http.StatusServiceUnavailable || a.Header.Get("Retry-After") == "" {
			g.t.Fatalf("%s on a full disk: %d %s, want 503 with Retry-After", id, a.Status, a.Body)
		}
		if g.r.window.seen(id, g.clock.Now()) {
			g.t.Fatalf("%s answered 503 but in the dedupe window", id)
		}
		refused = append(refused, id)
	}
	if len(refused) <= extra {
		g.t.Fatalf("%d webhooks on a full disk, %d refused: the disk was not full", len(answered), len(refused))
	}
	return answered, refused
}

// checkJournal asserts the invariant after shutdown: every webhook
// answered 2xx is in the journal with status 200, and no webhook answered
// otherwise is journaled as acknowledged (its 503 may be journaled).
func checkJournal(t *testing.T, path string, answered map[string]int) {
	t.Helper()
	statuses := journalStatuses(t, path)
	for id, code := range answered {
		got := statuses[id]
		if code == 200 && (len(got) != 1 || got[0] != 200) {
			t.Errorf("%s acknowledged, journaled %v", id, got)
		}
		if code != 200 && slices.Contains(got, 200) {
			t.Errorf("%s answered %d, journaled %v", id, code, got)
		}
	}
}

// fullJournalRig starts a receiver (without --sync) journaling to a small
// disk, then fills the disk.
func fullJournalRig(t *testing.T) (*smallDisk, string, *rig) {
	t.Helper()
	disk := mountSmallDisk(t)
	journal := filepath.Join(disk.dir, "receipts.jsonl")
	g := newRig(t, Config{JournalPath: journal})
	disk.fill()
	return disk, journal, g
}

// Finding 2: without --sync a webhook is acknowledged only while disk
// space is reserved for its receipt, so a disk that fills up stops the
// acks (503 with Retry-After) before any acknowledged receipt is at risk:
// every webhook answered 2xx is in the journal after shutdown even when
// the disk is still full then, and none answered 503 is remembered.
func TestDiskFullThroughShutdown(t *testing.T) {
	_, journal, g := fullJournalRig(t)
	answered, refused := postUntilRefused(g, "msg", 200)
	st := g.r.Stats()
	checkBalance(t, st)
	if st.Unkept != uint64(len(refused)) || st.Unique != uint64(len(answered)-len(refused)) {
		t.Errorf("unique %d unkept %d, want %d and %d", st.Unique, st.Unkept, len(answered)-len(refused), len(refused))
	}
	// Flushes back off: their errors do not follow the requests.
	if st.Journal.FlushErrors > 2 {
		t.Errorf("%d flush errors for %d refused requests, want at most 2", st.Journal.FlushErrors, len(refused))
	}
	if err := g.r.Close(); err != nil {
		t.Fatalf("shutdown on a full disk lost acknowledged receipts: %v", err)
	}
	checkJournal(t, journal, answered)
}

// Finding 2, continued: once space comes back the receiver acknowledges
// again, after its own (backed-off) flush; nothing is lost on the way.
func TestDiskFullWithoutSync(t *testing.T) {
	disk, journal, g := fullJournalRig(t)
	answered, _ := postUntilRefused(g, "msg_a", 50)
	disk.free()
	// The flusher's next try (at most a FlushInterval away) reserves
	// space again; bounded tries, each waiting for the flusher.
	for try := 0; try < 5 && (g.r.Stats().Journal.Unwritable || !g.r.journal.room()); try++ {
		g.flushTick(time.Second)
	}
	for i := range 50 {
		id := fmt.Sprintf("msg_b_%d", i)
		a := g.post(id, 1)
		answered[id] = a.Status
		if a.Status != 200 {
			t.Fatalf("%s after space came back: %d %s", id, a.Status, a.Body)
		}
	}
	checkBalance(t, g.r.Stats())
	if err := g.r.Close(); err != nil {
		t.Fatal(err)
	}
	checkJournal(t, journal, answered)
}

// A dedupe store written on a full disk (part of a write taken, the rest
// refused) and then given space again is read back whole at the next
// start, every acknowledged id remembered.
func TestDedupeStoreDiskFull(t *testing.T) {
	disk := mountSmallDisk(t)
	path := filepath.Join(disk.dir, "dedupe.log")
	fake := fakeAt(t0)
	g := newRig(t, Config{Dedupe: DedupeConfig{Path: path}, Clock: fake})
	disk.fill()
	var acked []string
	for i := range 2000 { // ~80 KB of store lines: more than the file's last page holds
		id := fmt.Sprintf("msg_store_%d", i)
		if a := g.post(id, 1); a.Status == 200 {
			acked = append(acked, id)
		}
	}
	g.flushTick(time.Second) // part of the lines fit, the rest is refused
	if st := g.r.Stats(); !st.Journal.Unwritable {
		t.Fatalf("the store's flush on a full disk did not fail: %+v", st.Journal)
	}
	disk.free()
	for try := 0; try < 5 && g.r.Stats().Journal.Unwritable; try++ {
		g.flushTick(time.Second)
	}
	if err := g.r.Close(); err != nil {
		t.Fatal(err)
	}
	r2, err := New(Config{Secrets: []string{secretA}, Dedupe: DedupeConfig{Path: path}, Clock: fake})
	if err != nil {
		t.Fatalf("restart on the store written through a full disk: %v", err)
	}
	defer r2.Close()
	for _, id := range acked {
		if !r2.window.seen(id, fake.Now()) {
			t.Fatalf("%s acknowledged before the restart, forgotten after it", id)
		}
	}
}
