package receiver

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
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
