package receiver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Every line is one JSON object with exactly the documented fields, and
// `at` carries all nine digits of nanoseconds.
func TestJournalFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "receipts.jsonl")
	g := newRig(t, Config{JournalPath: path})
	g.post("msg_1", 3)
	g.clock.Advance(1500 * time.Millisecond)
	g.post("msg_1", 0)
	bad := g.webhookReq("/", "msg_2", []byte(`{}`))
	bad.Header.Set("webhook-signature", "v1,AAAA")
	g.do(bad)
	if err := g.r.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{"seq":1,"id":"msg_1","attempt":3,"at":"2026-03-01T12:00:00.123456789Z","status":200,"verified":true,"duplicate":false}
{"seq":2,"id":"msg_1","attempt":0,"at":"2026-03-01T12:00:01.623456789Z","status":200,"verified":true,"duplicate":true}
{"seq":3,"id":"msg_2","attempt":0,"at":"2026-03-01T12:00:01.623456789Z","status":401,"verified":false,"duplicate":false,"error":%q}
`, "no matching signature found")
	if string(data) != want {
		t.Fatalf("journal:\n%s\nwant:\n%s", data, want)
	}
	at := regexp.MustCompile(`"at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z"`)
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		var rc Receipt
		if err := dec.Decode(&rc); err != nil || !at.MatchString(line) {
			t.Errorf("line %s: %v", line, err)
		}
	}
}

// Lines wait in memory until the flusher's tick or Close, never for a
// request; a tick writes everything buffered.
func TestJournalBufferedAndFlushed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "receipts.jsonl")
	g := newRig(t, Config{JournalPath: path, FlushInterval: time.Second})
	g.post("msg_1", 1)
	g.post("msg_2", 1)
	if fi, _ := os.Stat(path); fi.Size() != 0 {
		t.Fatalf("journal written on the request path (%d bytes before any flush)", fi.Size())
	}
	flushed := g.clock.TimerCreated() // the flusher arms its next tick after flushing
	g.clock.Advance(time.Second)
	<-flushed
	if n := countLines(t, path); n != 2 {
		t.Fatalf("%d lines after a tick, want 2", n)
	}
	g.post("msg_3", 1)
	if err := g.r.Close(); err != nil {
		t.Fatal(err)
	}
	if n := countLines(t, path); n != 3 {
		t.Fatalf("%d lines after Close, want 3", n)
	}
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(data, []byte{'\n'})
}

// Receipts older than the ring come back from the file, in order, with no
// gap at the seam, including those of a previous run.
func TestReceiptsFromFileAndRing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "receipts.jsonl")
	const ring, firstRun, secondRun = 64, 3000, 1500
	fill := func(j *journal, from, n int) {
		for i := range n {
			rc := Receipt{ID: fmt.Sprintf("msg_%d", from+i), At: t0.Add(time.Duration(from + i)), Status: 200, Verified: true}
			if !j.append(&rc) {
				t.Fatal("append refused")
			}
		}
	}
	j, _, err := openJournal(path, ring)
	if err != nil {
		t.Fatal(err)
	}
	fill(j, 0, firstRun)
	if err := j.close(); err != nil {
		t.Fatal(err)
	}
	j, note, err := openJournal(path, ring)
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	if !strings.Contains(note, "after seq 3000") {
		t.Errorf("reopen note %q", note)
	}
	fill(j, firstRun, secondRun)
	total := firstRun + secondRun
	for _, c := range []struct {
		since uint64
		limit int
	}{{0, 0}, {0, 10}, {1023, 5}, {2990, 20}, {uint64(total) - 70, 10}, {uint64(total) - 10, 0}, {uint64(total), 5}, {1500, 2500}} {
		got, err := j.receipts(c.since, c.limit)
		if err != nil {
			t.Fatal(err)
		}
		want := total - int(c.since)
		if c.limit > 0 {
			want = min(want, c.limit)
		}
		if len(got) != want {
			t.Fatalf("since %d limit %d: %d receipts, want %d", c.since, c.limit, len(got), want)
		}
		for i, rc := range got {
			n := int(c.since) + i
			if rc.Seq != uint64(n+1) || rc.ID != fmt.Sprintf("msg_%d", n) || !rc.At.Equal(t0.Add(time.Duration(n))) {
				t.Fatalf("since %d: receipt %d is %+v", c.since, i, rc)
			}
		}
	}
}

func TestJournalFileErrors(t *testing.T) {
	dir := t.TempDir()
	good := `{"seq":7,"id":"a","attempt":0,"at":"2026-03-01T12:00:00.000000000Z","status":200,"verified":true,"duplicate":false}` + "\n"
	cases := []struct {
		name, content, want string
		next                uint64
	}{
		{"torn last line is cut", good + `{"seq":8,"id":"b","att`, "", 8},
		{"not a journal", "# my notes\n", ":1: not a receipt journal line", 0},
		{"seq going back", good + strings.Replace(good, `"seq":7`, `"seq":3`, 1), ":2: seq 3 after 7", 0},
	}
	for i, c := range cases {
		path := filepath.Join(dir, fmt.Sprintf("j%d", i))
		os.WriteFile(path, []byte(c.content), 0o644)
		j, _, err := openJournal(path, 8)
		if c.want != "" {
			if err == nil || !strings.Contains(err.Error(), path+c.want) {
				t.Errorf("%s: %v, want %q", c.name, err, path+c.want)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		rc := Receipt{ID: "c"}
		j.append(&rc)
		j.close()
		data, _ := os.ReadFile(path)
		if rc.Seq != c.next || !strings.HasPrefix(string(data), good+`{"seq":8,"id":"c"`) || bytes.Count(data, []byte("\n")) != 2 {
			t.Errorf("%s: seq %d, file:\n%s", c.name, rc.Seq, data)
		}
	}
}

// OnReceipt sees every receipt, with its seq, as it happens.
func TestOnReceipt(t *testing.T) {
	got := make(chan Receipt, 10)
	g := newRig(t, Config{OnReceipt: func(rc Receipt) { got <- rc }})
	g.post("msg_1", 1)
	g.post("msg_1", 2)
	a, b := <-got, <-got
	if a.Seq != 1 || a.Duplicate || b.Seq != 2 || !b.Duplicate || b.Attempt != 2 {
		t.Fatalf("OnReceipt got %+v then %+v", a, b)
	}
}

// The hand-written encoder must agree with encoding/json on every input.
func FuzzReceiptJSON(f *testing.F) {
	f.Add("msg_1", "no matching signature found", int64(1614265330123456789), 3, 200)
	f.Add("\x00\"\\\n\t\u2028<>&é\xff", "", int64(-1), -1, 0)
	f.Fuzz(func(t *testing.T, id, reason string, nanos int64, attempt, status int) {
		at := time.Unix(0, nanos).UTC()
		if at.Year() < 0 || at.Year() > 9999 {
			return // not representable in RFC 3339
		}
		rc := Receipt{Seq: 9, ID: id, Attempt: attempt, At: at, Status: status, Verified: true, Error: reason}
		line := rc.appendJSON(nil)
		if !bytes.HasSuffix(line, []byte("}\n")) || bytes.Count(line, []byte("\n")) != 1 {
			t.Fatalf("not one line: %q", line)
		}
		var back Receipt
		if err := json.Unmarshal(line, &back); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		want := rc
		want.ID, want.Error = strings.ToValidUTF8(id, "\ufffd"), strings.ToValidUTF8(reason, "\ufffd")
		if !utf8.ValidString(id) || !utf8.ValidString(reason) {
			// encoding/json replaces each bad byte; ToValidUTF8 a run of them.
			std, _ := json.Marshal(struct{ A, B string }{id, reason})
			var v struct{ A, B string }
			json.Unmarshal(std, &v)
			want.ID, want.Error = v.A, v.B
		}
		if !back.At.Equal(want.At) || back.ID != want.ID || back.Error != want.Error || back.Seq != 9 || back.Attempt != attempt || back.Status != status || !back.Verified {
			t.Fatalf("round trip of %+v gave %+v (line %q)", want, back, line)
		}
	})
}

// appendTime must write what AppendFormat(timeLayout) writes, byte for
// byte: the journal's lines must not change with the faster encoder.
func TestAppendTimeMatchesAppendFormat(t *testing.T) {
	zone := time.FixedZone("x", -7*3600-30*60)
	for _, at := range []time.Time{
		time.Unix(0, 0),
		time.Unix(1614265330, 123456789),
		time.Unix(1614265330, 1),
		time.Unix(1614265330, 100000000).In(zone),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),    // AppendFormat's own spelling
		time.Date(10000, 1, 1, 0, 0, 0, 5, time.UTC), // likewise
	} {
		want := at.UTC().AppendFormat(nil, timeLayout)
		if got := appendTime([]byte("x"), at); string(got) != "x"+string(want) {
			t.Errorf("appendTime(%v) = %q, want %q", at, got[1:], want)
		}
	}
}

func FuzzAppendTime(f *testing.F) {
	f.Add(int64(1614265330), int64(123456789))
	f.Add(int64(-62167219200), int64(0))
	f.Fuzz(func(t *testing.T, sec, nsec int64) {
		at := time.Unix(sec, nsec)
		want := at.UTC().AppendFormat(nil, timeLayout)
		if got := appendTime(nil, at); string(got) != string(want) {
			t.Fatalf("appendTime(%v) = %q, want %q", at, got, want)
		}
	})
}
