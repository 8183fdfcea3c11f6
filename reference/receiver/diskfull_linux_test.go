package receiver

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
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
	return &smallDisk{t: t, dir: dir, filler: filepath.Join(dir, "filler")}
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
	// The files' last pages still have room for a few lines: post until
	// the disk says no, and then some.
	const n = 200
	answered := map[string]int{}
	refused := []string{}
	for i := range n {
		id := fmt.Sprintf("msg_full_%d", i)
		a := g.post(id, 1)
		answered[id] = a.Status
		if a.Status != 200 {
			if a.Status != http.StatusServiceUnavailable || a.Header.Get("Retry-After") == "" {
				t.Fatalf("%s on a full disk: %d %s, want 503 with Retry-After", id, a.Status, a.Body)
			}
			refused = append(refused, id)
		}
	}
	if len(refused) < 10 {
		t.Fatalf("only %d of %d webhooks refused on a full disk: the disk was not full", len(refused), n)
	}
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

// Finding 2: without --sync, once a flush fails every webhook is answered
// 503 with Retry-After until one succeeds; flushes back off (their errors
// do not follow the requests); every webhook answered 2xx is in the
// journal after shutdown, none answered 503 is in the dedupe window.
func TestDiskFullWithoutSync(t *testing.T) {
	disk := mountSmallDisk(t)
	journal := filepath.Join(disk.dir, "receipts.jsonl")
	g := newRig(t, Config{JournalPath: journal})
	disk.fill()
	answered := map[string]int{}
	post := func(batch string, k int) (ok, refused int) {
		for i := range k {
			id := fmt.Sprintf("msg_%s_%d", batch, i)
			a := g.post(id, 1)
			answered[id] = a.Status
			switch {
			case a.Status == 200:
				ok++
			case a.Status == 503 && a.Header.Get("Retry-After") != "":
				refused++
				if g.r.window.seen(id, g.clock.Now()) {
					t.Fatalf("%s answered 503 but in the dedupe window", id)
				}
			default:
				t.Fatalf("%s: %d %s", id, a.Status, a.Body)
			}
		}
		return ok, refused
	}
	// Acknowledged into the buffer: no flush has failed yet.
	if ok, _ := post("a", 50); ok != 50 {
		t.Fatalf("before any flush: %d of 50 acknowledged", ok)
	}
	g.flushTick(time.Second) // the flush fails: the disk is full
	if st := g.r.Stats(); !st.Journal.Unwritable || st.Journal.FlushErrors != 1 {
		t.Fatalf("after a failed flush: %+v", st.Journal)
	}
	if ok, refused := post("b", 200); ok != 0 || refused != 200 {
		t.Fatalf("after a failed flush: %d acknowledged, %d refused; want 0 and 200", ok, refused)
	}
	// Retries back off and stay one per tick, however many requests came.
	g.flushTick(time.Second / 16)
	if st := g.r.Stats(); st.Journal.FlushErrors != 2 {
		t.Errorf("flush errors %d after 200 requests and one retry, want 2", st.Journal.FlushErrors)
	}
	disk.free()
	g.flushTick(time.Second / 8) // the doubled backoff
	if st := g.r.Stats(); st.Journal.Unwritable {
		t.Fatalf("space is back and the flush still fails: %+v", st.Journal)
	}
	if ok, _ := post("c", 50); ok != 50 {
		t.Fatalf("after a good flush: %d of 50 acknowledged", ok)
	}
	st := g.r.Stats()
	checkBalance(t, st)
	if st.Unique != 100 || st.Unkept != 200 {
		t.Errorf("unique %d unkept %d, want 100 and 200", st.Unique, st.Unkept)
	}
	if err := g.r.Close(); err != nil {
		t.Fatal(err)
	}
	statuses := journalStatuses(t, journal)
	for id, code := range answered {
		got := statuses[id]
		if code == 200 && (len(got) != 1 || got[0] != 200) {
			t.Errorf("%s acknowledged, journaled %v", id, got)
		}
		if code != 200 && len(got) != 0 {
			t.Errorf("%s answered %d, journaled %v", id, code, got)
		}
	}
}
