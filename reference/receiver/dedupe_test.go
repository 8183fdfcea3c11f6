package receiver

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWindow(t *testing.T) {
	type step struct {
		op   string // claim (final), pend (claim, pending), commit, release
		id   string
		at   time.Duration
		want Sighting
	}
	cases := []struct {
		name      string
		ttl       time.Duration
		max       int
		steps     []step
		size      int
		evictions uint64
	}{
		{"repeat inside the TTL", time.Hour, 10, []step{
			{"claim", "a", 0, Fresh}, {"claim", "a", 59 * time.Minute, Duplicate},
		}, 1, 0},
		{"repeat at the TTL is fresh", time.Hour, 10, []step{
			{"claim", "a", 0, Fresh}, {"claim", "b", 30 * time.Minute, Fresh},
			{"claim", "a", time.Hour, Fresh}, {"claim", "b", time.Hour, Duplicate},
		}, 2, 1},
		{"size evicts the oldest", time.Hour, 2, []step{
			{"claim", "a", 0, Fresh}, {"claim", "b", 1, Fresh}, {"claim", "c", 2, Fresh},
			{"claim", "b", 3, Duplicate}, {"claim", "a", 4, Fresh},
		}, 2, 2},
		{"pending is in flight until committed", time.Hour, 10, []step{
			{"pend", "a", 0, Fresh}, {"claim", "a", 1, InFlight},
			{"commit", "a", 2, 0}, {"claim", "a", 3, Duplicate},
		}, 1, 0},
		{"released is forgotten", time.Hour, 10, []step{
			{"pend", "a", 0, Fresh}, {"release", "a", 1, 0}, {"pend", "a", 1, Fresh},
			{"commit", "a", 2, 0}, {"claim", "a", 3, Duplicate},
		}, 1, 0},
		{"a stale queue entry does not evict a re-claimed id", time.Hour, 10, []step{
			{"pend", "a", 0, Fresh}, {"release", "a", 0, 0}, {"claim", "a", 0, Fresh},
			{"claim", "b", 59 * time.Minute, Fresh}, {"claim", "a", 59 * time.Minute, Duplicate},
		}, 2, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWindow(DedupeConfig{TTL: c.ttl, MaxEntries: c.max})
			for i, s := range c.steps {
				now := t0.Add(s.at)
				switch s.op {
				case "claim", "pend":
					if got := w.claim(s.id, now, s.op == "claim"); got != s.want {
						t.Fatalf("step %d %s %s: %v, want %v", i, s.op, s.id, got, s.want)
					}
				case "commit":
					w.commit(s.id)
				case "release":
					w.release(s.id)
				}
			}
			if size, ev := w.counts(); size != c.size || ev != c.evictions {
				t.Fatalf("size %d evictions %d, want %d and %d", size, ev, c.size, c.evictions)
			}
		})
	}
}

// Memory follows the window, not the traffic: the queue behind it must not
// grow with ids that were evicted or released.
func TestWindowMemoryIsBounded(t *testing.T) {
	w := newWindow(DedupeConfig{TTL: time.Hour, MaxEntries: 100})
	for i := range 50_000 {
		id := fmt.Sprintf("id%d", i)
		if i%2 == 0 {
			w.claim(id, t0.Add(time.Duration(i)), true)
		} else {
			w.claim(id, t0.Add(time.Duration(i)), false)
			w.release(id)
		}
	}
	c := w.core
	if c.ids.len() > 100 || c.queue.len() > 2200 || c.queue.held() > 4*fifoChunk {
		t.Fatalf("ids %d, queue %d (room for %d)", c.ids.len(), c.queue.len(), c.queue.held())
	}
}

func TestEvictionThroughTheReceiver(t *testing.T) {
	g := newRig(t, Config{Dedupe: DedupeConfig{TTL: 72 * time.Hour, MaxEntries: 2}})
	g.post("msg_1", 1)
	g.clock.Advance(71 * time.Hour)
	if a := g.post("msg_1", 2); string(a.Body) != AckDuplicate {
		t.Fatalf("retry inside 3 days: %s", a.Body)
	}
	g.clock.Advance(time.Hour) // 72h after the first sighting
	if a := g.post("msg_1", 3); string(a.Body) != AckFresh {
		t.Fatalf("after the TTL: %s", a.Body)
	}
	g.post("msg_2", 1)
	g.post("msg_3", 1) // evicts msg_1 by size
	if a := g.post("msg_1", 4); string(a.Body) != AckFresh {
		t.Fatalf("after a size eviction: %s", a.Body)
	}
	if s := g.r.Stats(); s.Evictions != 3 || s.Window != 2 || s.Unique != 5 {
		t.Fatalf("stats %+v, want 3 evictions (TTL, size, size)", s)
	}
}

func TestDedupeSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dedupe.log")
	cfg := Config{Dedupe: DedupeConfig{Path: path, TTL: 72 * time.Hour}}
	g := newRig(t, cfg)
	g.post("msg_old", 1)
	g.clock.Advance(48 * time.Hour)
	g.post("msg_new", 1)
	if err := g.r.Close(); err != nil {
		t.Fatal(err)
	}

	// Restarted an hour later: both are remembered.
	cfg.Clock = g.clock
	g.clock.Advance(time.Hour)
	g2 := newRig(t, cfg)
	for _, id := range []string{"msg_old", "msg_new"} {
		if a := g2.post(id, 2); string(a.Body) != AckDuplicate {
			t.Fatalf("%s after restart: %s", id, a.Body)
		}
	}
	if s := g2.r.Stats(); s.Window != 2 {
		t.Fatalf("window after restart %d", s.Window)
	}
	g2.r.Close()

	// Restarted past msg_old's TTL: it is dropped at load, msg_new kept.
	g.clock.Advance(24 * time.Hour)
	g3 := newRig(t, cfg)
	if a := g3.post("msg_old", 3); string(a.Body) != AckFresh {
		t.Fatalf("msg_old past its TTL: %s", a.Body)
	}
	if a := g3.post("msg_new", 3); string(a.Body) != AckDuplicate {
		t.Fatalf("msg_new: %s", a.Body)
	}
	g3.r.Close()
	data, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(data), storeHeader) || strings.Count(string(data), "\n") != 3 {
		t.Fatalf("store file:\n%s", data)
	}
}

// A crash leaves at most a torn last line, which is skipped; anything else
// malformed stops the receiver with file:line.
func TestStoreFileErrors(t *testing.T) {
	dir := t.TempDir()
	at := t0.UnixNano()
	cases := []struct {
		name, content, want string
		ids                 int
	}{
		{"torn last line", fmt.Sprintf("%s%d \"a\"\n%d \"b", storeHeader, at, at), "", 1},
		{"ids with spaces and quotes", fmt.Sprintf("%s%d \"a b \\\"c\\\"\"\n", storeHeader, at), "", 1},
		{"not a store", "hello\n", ":1: not a hookrig dedupe store", 0},
		{"bad line", fmt.Sprintf("%s%d \"a\"\nxyz\n", storeHeader, at), ":3: want `<unix-nanoseconds>", 0},
	}
	for i, c := range cases {
		path := filepath.Join(dir, fmt.Sprintf("s%d", i))
		os.WriteFile(path, []byte(c.content), 0o644)
		r, err := New(Config{Secrets: []string{secretA}, Clock: fakeAt(t0), Dedupe: DedupeConfig{Path: path}})
		if c.want != "" {
			if err == nil || !strings.Contains(err.Error(), path+c.want) {
				t.Errorf("%s: %v, want %q", c.name, err, path+c.want)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if s := r.Stats(); s.Window != c.ids {
			t.Errorf("%s: window %d, want %d", c.name, s.Window, c.ids)
		}
		r.Close()
	}
}

// The log is rewritten from the window once it holds twice as many lines,
// so a long run does not fill the disk.
func TestStoreCompacts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dedupe.log")
	r, err := New(Config{Secrets: []string{secretA}, Clock: fakeAt(t0), Dedupe: DedupeConfig{Path: path, MaxEntries: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 * storeCompactMin {
		r.window.claim(fmt.Sprintf("id%d", i), t0.Add(time.Duration(i)), true)
		if i%1000 == 0 {
			r.flush()
		}
	}
	r.Close()
	data, _ := os.ReadFile(path)
	if lines := strings.Count(string(data), "\n"); lines > 2*storeCompactMin+1001 {
		t.Fatalf("store holds %d lines for a window of 1000", lines)
	}
	r2, err := New(Config{Secrets: []string{secretA}, Clock: fakeAt(t0), Dedupe: DedupeConfig{Path: path, MaxEntries: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if got := r2.window.claim(fmt.Sprintf("id%d", 3*storeCompactMin-1), t0, true); got != Duplicate {
		t.Fatalf("the newest id was lost in compaction: %v", got)
	}
	if s := r2.Stats(); s.Window != 1000 {
		t.Fatalf("window %d after reload", s.Window)
	}
}

// A numbered window decides exactly as a hashed one over the same ids
// (the pages only change where slots are kept), and frees its pages as
// ids leave: claims, pending claims settled either way, repeats and
// sightings in a seeded random mix, past the size bound and the TTL.
func TestNumberedWindowDecidesAsTheMap(t *testing.T) {
	const ttl, max = time.Hour, 3000
	hashed, paged := NewWindow[uint64](ttl, max), NewNumberedWindow(ttl, max)
	rnd := rand.New(rand.NewPCG(1, 2))
	var pending []uint64
	next := uint64(0)
	for i := range 200_000 {
		now := t0.Add(time.Duration(i) * 50 * time.Millisecond)
		var id uint64
		switch r := rnd.IntN(10); {
		case r < 6 || next == 0: // a new delivery
			id, next = next, next+1
		default: // a retry of a recent one
			id = next - 1 - uint64(rnd.IntN(int(min(next, 5000))))
		}
		final := rnd.IntN(3) > 0
		a, b := hashed.Claim(id, now, final), paged.Claim(id, now, final)
		if a != b {
			t.Fatalf("op %d: claim %d: numbered %v, hashed %v", i, id, b, a)
		}
		if a == Fresh && !final {
			pending = append(pending, id)
		}
		if len(pending) > 0 && rnd.IntN(2) == 0 {
			p := pending[0]
			pending = pending[1:]
			if rnd.IntN(4) == 0 {
				_, ok1 := hashed.Release(p)
				_, ok2 := paged.Release(p)
				if ok1 != ok2 {
					t.Fatalf("op %d: release %d: numbered %v, hashed %v", i, p, ok2, ok1)
				}
			} else {
				at1, ok1 := hashed.Commit(p)
				at2, ok2 := paged.Commit(p)
				if at1 != at2 || ok1 != ok2 {
					t.Fatalf("op %d: commit %d: numbered %d %v, hashed %d %v", i, p, at2, ok2, at1, ok1)
				}
			}
		}
		if s := next - uint64(rnd.IntN(int(min(next, 8000))+1)); hashed.Seen(s, now) != paged.Seen(s, now) {
			t.Fatalf("op %d: seen %d differs", i, s)
		}
		if hashed.Len() != paged.Len() || hashed.Evictions() != paged.Evictions() {
			t.Fatalf("op %d: numbered holds %d (%d evicted), hashed %d (%d)", i, paged.Len(), paged.Evictions(), hashed.Len(), hashed.Evictions())
		}
	}
	if hashed.Evictions() == 0 {
		t.Fatal("the mix never reached the size bound: it tests nothing of eviction")
	}
	// Pages follow the ids held: the ids of the last stretch, a few
	// stragglers' pages at most besides.
	if pt := paged.ids.(*pagedTable); pt.held() > max/pageSlots+8 {
		t.Errorf("%d pages held for %d ids", pt.held(), paged.Len())
	}
}

// held is how many pages the table holds.
func (t *pagedTable) held() int {
	k := 0
	for _, p := range t.pages {
		if p != nil {
			k++
		}
	}
	return k
}

// A numbered window takes ids below every page it holds (a straggler's
// first delivery after newer ones) and far above, and lets the pages go
// as the ids leave.
func TestNumberedWindowStragglers(t *testing.T) {
	const ttl = time.Hour
	hashed, paged := NewWindow[uint64](ttl, 4), NewNumberedWindow(ttl, 4)
	ids := []uint64{5000, 3, 5001, 90_000, 2, 5000, 1 << 20, 3, 7, 8, 9, 2}
	for i, id := range ids {
		now := t0.Add(time.Duration(i) * time.Second)
		if a, b := hashed.Claim(id, now, true), paged.Claim(id, now, true); a != b {
			t.Fatalf("claim %d of %d: numbered %v, hashed %v", i, id, b, a)
		}
		if hashed.Len() != paged.Len() {
			t.Fatalf("claim %d: numbered holds %d, hashed %d", i, paged.Len(), hashed.Len())
		}
	}
	pt := paged.ids.(*pagedTable)
	if pt.held() != 1 || len(pt.pages) != 1 {
		t.Errorf("ids 7, 8, 9 and 2 held in %d pages over a span of %d, want 1 of 1", pt.held(), len(pt.pages))
	}
	later := t0.Add(2 * ttl)
	if paged.Claim(11, later, true) != Fresh || paged.Len() != 1 || pt.held() != 1 {
		t.Errorf("after the TTL: %d ids in %d pages, want 1 in 1", paged.Len(), pt.held())
	}
}
