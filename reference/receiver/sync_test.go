package receiver

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// With SyncAck, a 2xx means the receipt and the dedupe entry are in the
// files already: the fake clock never moves, so no periodic flush could
// have written them. Without it, the same acknowledged webhook is still
// only in memory at that point (what kill -9 would lose).
func TestSyncAckWritesBeforeTheAck(t *testing.T) {
	for _, sync := range []bool{true, false} {
		t.Run(fmt.Sprintf("sync=%v", sync), func(t *testing.T) {
			dir := t.TempDir()
			journal, dedupe := filepath.Join(dir, "receipts.jsonl"), filepath.Join(dir, "dedupe.log")
			g := newRig(t, Config{JournalPath: journal, Dedupe: DedupeConfig{Path: dedupe}, SyncAck: sync})
			if a := g.post("msg_sync_1", 1); a.Status != 200 {
				t.Fatalf("status %d: %s", a.Status, a.Body)
			}
			if a := g.post("msg_sync_1", 2); a.Status != 200 { // a duplicate, acknowledged too
				t.Fatalf("status %d: %s", a.Status, a.Body)
			}
			j, _ := os.ReadFile(journal)
			d, _ := os.ReadFile(dedupe)
			lines := bytes.Count(j, []byte("\n"))
			inStore := bytes.Contains(d, []byte(`"msg_sync_1"`))
			if sync && (lines != 2 || !inStore) {
				t.Errorf("acknowledged, but on disk: %d journal lines (want 2), id in the dedupe store %v\n%s", lines, inStore, j)
			}
			if !sync && (lines != 0 || inStore) {
				t.Errorf("without SyncAck nothing should be written before the flush: %d lines, in store %v", lines, inStore)
			}
		})
	}
}

// Concurrent acknowledgements share fsyncs and every one of them is on
// disk by the time its 2xx arrives; rejected requests do not wait.
func TestSyncAckUnderConcurrency(t *testing.T) {
	journal := filepath.Join(t.TempDir(), "receipts.jsonl")
	g := newRig(t, Config{JournalPath: journal, SyncAck: true})
	const n = 64
	var wg sync.WaitGroup
	status := make([]int, n)
	for i := range n {
		wg.Go(func() {
			req := g.webhookReq("/webhooks", fmt.Sprintf("msg_c_%d", i), []byte(`{"n":1}`))
			status[i] = g.do(req).Status
		})
	}
	wg.Wait()
	bad := g.webhookReq("/", "msg_bad", []byte(`{}`))
	bad.Header.Set("webhook-signature", "v1,AAAA")
	if a := g.do(bad); a.Status != 401 {
		t.Fatalf("bad signature: %d", a.Status)
	}
	j, err := os.ReadFile(journal)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range status {
		if s != 200 {
			t.Errorf("request %d: %d", i, s)
		}
		if !bytes.Contains(j, []byte(fmt.Sprintf(`"id":"msg_c_%d",`, i))) {
			t.Errorf("msg_c_%d acknowledged but not in the journal file", i)
		}
	}
	if st := g.r.Stats(); st.Unique != n || st.Rejected != 1 {
		t.Errorf("stats %+v", st)
	}
}

// With several group commits in flight (the pipelined path syncDepth
// leaves at one), every 2xx still finds its receipt in the journal file
// and its id in the dedupe store file at the moment it arrives, and the
// commits share fsyncs.
func TestSyncAckPipelined(t *testing.T) {
	dir := t.TempDir()
	journal, dedupe := filepath.Join(dir, "receipts.jsonl"), filepath.Join(dir, "dedupe.log")
	g := newRig(t, Config{JournalPath: journal, Dedupe: DedupeConfig{Path: dedupe}, SyncAck: true})
	g.r.commits.close()
	commits, err := newGroupCommit(journal, 3)
	if err != nil {
		t.Fatal(err)
	}
	g.r.commits = commits
	const n = 64
	var wg sync.WaitGroup
	problems := make([]string, n)
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprintf("msg_p_%d", i)
			a := g.do(g.webhookReq("/webhooks", id, []byte(`{"n":1}`)))
			j, jerr := os.ReadFile(journal)
			d, derr := os.ReadFile(dedupe)
			switch {
			case a.Status != 200:
				problems[i] = fmt.Sprintf("%s: status %d %s", id, a.Status, a.Body)
			case jerr != nil || derr != nil:
				problems[i] = fmt.Sprintf("%s: reading the files: %v %v", id, jerr, derr)
			case !bytes.Contains(j, []byte(`"id":"`+id+`",`)):
				problems[i] = id + " acknowledged but not in the journal file"
			case !bytes.Contains(d, []byte(`"`+id+`"`)):
				problems[i] = id + " acknowledged but not in the dedupe store file"
			}
		})
	}
	wg.Wait()
	for _, p := range problems {
		if p != "" {
			t.Error(p)
		}
	}
	if a := g.post("msg_p_0", 2); a.Status != 200 || string(a.Body) != AckDuplicate {
		t.Errorf("repeat of msg_p_0: %d %s, want 200 %s", a.Status, a.Body, AckDuplicate)
	}
	if st := g.r.Stats(); st.Unique != n || st.Duplicates != 1 {
		t.Errorf("unique %d duplicates %d, want %d and 1", st.Unique, st.Duplicates, n)
	}
}

// With SyncAck the journal backs the dedupe store: a 2xx waits for the
// journal's fsync only, and a power cut that loses the store's lines
// written since its last fsync loses no id, because the next start puts
// back the ids of the receipts journaled after the store's checkpoint.
// The control shows it is the replay that remembers them: opened without
// SyncAck, the same files forget them.
func TestSyncAckStoreRebuiltFromJournal(t *testing.T) {
	dir := t.TempDir()
	journal, dedupe := filepath.Join(dir, "receipts.jsonl"), filepath.Join(dir, "dedupe.log")
	fake := fakeAt(t0)
	g := newRig(t, Config{JournalPath: journal, Dedupe: DedupeConfig{Path: dedupe}, SyncAck: true, Clock: fake})
	storeAtOpen, err := os.ReadFile(dedupe) // all that a power cut leaves if the store is never fsynced again
	if err != nil {
		t.Fatal(err)
	}
	const n = 10
	for i := range n {
		if a := g.post(fmt.Sprintf("msg_r_%d", i), 1); a.Status != 200 || string(a.Body) != AckFresh {
			t.Fatalf("msg_r_%d: %d %s", i, a.Status, a.Body)
		}
	}
	// The power cut: the journal as fsynced, the store as at open.
	journalAtCut, err := os.ReadFile(journal)
	if err != nil {
		t.Fatal(err)
	}
	for _, sync := range []bool{true, false} {
		t.Run(fmt.Sprintf("restart sync=%v", sync), func(t *testing.T) {
			d := t.TempDir()
			j2, s2 := filepath.Join(d, "receipts.jsonl"), filepath.Join(d, "dedupe.log")
			if err := os.WriteFile(j2, journalAtCut, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(s2, storeAtOpen, 0o644); err != nil {
				t.Fatal(err)
			}
			g2 := newRig(t, Config{JournalPath: j2, Dedupe: DedupeConfig{Path: s2}, SyncAck: sync, Clock: fake})
			want := AckDuplicate
			if !sync {
				want = AckFresh
			}
			for i := range n {
				if a := g2.post(fmt.Sprintf("msg_r_%d", i), 2); a.Status != 200 || string(a.Body) != want {
					t.Errorf("msg_r_%d after the restart: %d %s, want 200 %s", i, a.Status, a.Body, want)
				}
			}
		})
	}
	// A clean shutdown leaves a checkpoint of the journal's last seq, so
	// the next start replays nothing.
	if err := g.r.Close(); err != nil {
		t.Fatal(err)
	}
	_, checkpoint, _, err := readStore(dedupe)
	if err != nil {
		t.Fatal(err)
	}
	if checkpoint != n {
		t.Errorf("checkpoint after Close: %d, want %d (the journal's last seq)", checkpoint, n)
	}
}

// When the journal backs the store (SyncAck), a compaction keeps the
// pending claims (each was written to the log when claimed, and a release
// adds a tombstone after) and carries its own checkpoint; otherwise the
// pending claims are left out and there is no checkpoint, as before.
func TestStoreCompactionKeepsPendingUnderSyncAck(t *testing.T) {
	for _, backs := range []bool{true, false} {
		t.Run(fmt.Sprintf("journal backs the store=%v", backs), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "dedupe.log")
			cfg := DedupeConfig{TTL: time.Hour, MaxEntries: 100}
			var replay replayFunc
			if backs {
				replay = func(uint64, func(string, int64)) (uint64, error) { return 7, nil }
			}
			st, _, _, err := openStore(path, cfg, t0, replay)
			if err != nil {
				t.Fatal(err)
			}
			defer st.close()
			w := newWindow(cfg)
			w.store = st
			// Past storeCompactMin lines and twice the window: the next flush compacts.
			for i := range storeCompactMin + 10 {
				w.claim(fmt.Sprintf("msg_%d", i), t0.Add(time.Duration(i)), true)
			}
			w.claimDurable("msg_pending", t0.Add(time.Second))
			if err := st.flush(w, 4242, false); err != nil {
				t.Fatal(err)
			}
			entries, checkpoint, _, err := readStore(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) > 2*cfg.MaxEntries {
				t.Fatalf("%d lines after the flush: it did not compact", len(entries))
			}
			pending := false
			for _, e := range entries {
				pending = pending || e.id == "msg_pending"
			}
			if backs && (checkpoint != 4242 || !pending) {
				t.Errorf("compacted: checkpoint %d (want 4242), pending claim kept %v (want true)", checkpoint, pending)
			}
			if !backs && (checkpoint != 0 || pending) {
				t.Errorf("compacted: checkpoint %d (want none), pending claim kept %v (want false)", checkpoint, pending)
			}
		})
	}
}
