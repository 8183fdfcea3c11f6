package loadgen

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
)

// fakeResult builds a result from latencies (µs) as a run would.
func fakeResult(shard, shards int, lat []int64, status int) *Result {
	t := newTally()
	var b batch
	for _, us := range lat {
		b.add(sample{corrected: us * 1000, uncorrected: us * 500, lag: us * 10, status: uint16(status), sent: 100, recv: 10}, time.Time{})
		if b.n == batchSize {
			t.merge(&b)
		}
	}
	t.merge(&b)
	r := &Runner{tally: t, cfg: Config{Target: Target{URL: "http://127.0.0.1:1/hook"}, Shard: shard, Pacer: Constant(100)},
		open: true, shards: uint64(shards)}
	r.sent.Store(uint64(len(lat)))
	return r.result(time.Unix(1700000000, 0), time.Unix(1700000010, 0), outcome{window: 10 * time.Second, asked: 100}, false)
}

func TestResultJSONRoundTrip(t *testing.T) {
	lat := []int64{100, 200, 300, 5000, 120000}
	r := fakeResult(1, 3, lat, 200)
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	// The documented fields are there, in milliseconds.
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"version", "requests", "rate_requested", "rate_achieved", "success", "status_codes", "errors", "latency_ms", "hdr", "never_sent", "shard", "shards"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("JSON has no %q", k)
		}
	}
	lm := doc["latency_ms"].(map[string]any)
	corr := lm["corrected"].(map[string]any)
	if corr["max"].(float64) < 119.9 || corr["max"].(float64) > 120.1 || corr["p50"].(float64) != 0.3 {
		t.Errorf("corrected summary %v: want p50 0.3 ms and max 120 ms", corr)
	}
	if _, ok := lm["uncorrected"].(map[string]any)["p999"]; !ok {
		t.Error("no uncorrected p999")
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !back.Corrected.Equals(r.Corrected) || !back.Uncorrected.Equals(r.Uncorrected) || !back.Lag.Equals(r.Lag) {
		t.Error("histograms changed on the round trip")
	}
	if back.Requests != 5 || back.StatusCodes[200] != 5 || back.Shard != 1 || back.Shards != 3 || back.RateRequested != 100 {
		t.Errorf("round trip: %+v", back)
	}
	if !back.Classes["2xx"].Corrected.Equals(r.Classes["2xx"].Corrected) {
		t.Error("2xx class histogram changed on the round trip")
	}
}

func TestResultJSONErrors(t *testing.T) {
	good, _ := json.MarshalIndent(fakeResult(0, 1, []int64{1, 2}, 200), "", "  ") // as bench --output writes it
	tests := []struct{ name, from, to, want string }{
		{"other version", `"version": 1`, `"version": 2`, "version 2"},
		{"other unit", `"unit": "us"`, `"unit": "ms"`, "want \"us\""},
		{"broken histogram", `"corrected": "HIST`, `"corrected": "#IST`, "corrected histogram"},
		{"bad status code", `"200":`, `"abc":`, "status code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := strings.Replace(string(good), tt.from, tt.to, 1)
			if b == string(good) {
				t.Fatalf("%q not in the JSON", tt.from)
			}
			var r Result
			if err := json.Unmarshal([]byte(b), &r); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

// Merging shards' histograms gives exactly the histogram of all their
// values recorded together.
func TestMergeIsExact(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	var all []int64
	var parts []*Result
	for i := 0; i < 3; i++ {
		var lat []int64
		for j := 0; j < 1000*(i+1); j++ {
			lat = append(lat, 1+rnd.Int64N(1_000_000>>(2*i)))
		}
		all = append(all, lat...)
		parts = append(parts, fakeResult(i, 3, lat, 200+i))
	}
	m, err := Merge(parts...)
	if err != nil {
		t.Fatal(err)
	}
	whole := fakeResult(0, 1, all, 200)
	if !m.Corrected.Equals(whole.Corrected) || !m.Uncorrected.Equals(whole.Uncorrected) || !m.Lag.Equals(whole.Lag) {
		t.Error("the merged histograms differ from recording everything in one")
	}
	if m.Requests != 6000 || m.StatusCodes[200] != 1000 || m.StatusCodes[202] != 3000 || m.RateRequested != 300 || m.Shards != 3 {
		t.Errorf("merged counts: %d requests, codes %v, asked %v, %d shards", m.Requests, m.StatusCodes, m.RateRequested, m.Shards)
	}
	// Through JSON too, as `bench merge` does.
	var again []*Result
	for _, p := range parts {
		b, _ := json.Marshal(p)
		var r Result
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		again = append(again, &r)
	}
	m2, err := Merge(again...)
	if err != nil || !m2.Corrected.Equals(whole.Corrected) {
		t.Errorf("merge after JSON: %v, equal %v", err, err == nil && m2.Corrected.Equals(whole.Corrected))
	}
	if _, err := Merge(parts[0], parts[0]); err == nil || !strings.Contains(err.Error(), "again") {
		t.Errorf("merging a shard twice: %v", err)
	}
	closed := fakeResult(0, 1, all, 200)
	closed.Mode = "closed"
	if _, err := Merge(parts[0], closed); err == nil {
		t.Error("merging an open-loop and a closed-loop run gave no error")
	}
}

func TestWriteHgrm(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHgrm(&b, fakeResult(0, 1, []int64{1000, 2000, 3000, 4000}, 200).Corrected); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"Value", "Percentile", "TotalCount", "1/(1-Percentile)", "#[Mean", "Total count    =            4"} {
		if !strings.Contains(out, want) {
			t.Errorf(".hgrm lacks %q:\n%s", want, out)
		}
	}
	// Values are in milliseconds: the largest is 4 ms.
	if !strings.Contains(out, "#[Max     =        4.00") {
		t.Errorf(".hgrm max is not 4 ms:\n%s", out)
	}
}

func TestReportNamesWhatMatters(t *testing.T) {
	r := fakeResult(0, 1, []int64{100, 200, 300, 900000}, 200)
	r.Errors["timeout"] = 2
	r.Completed += 2
	var b strings.Builder
	if err := WriteReport(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"open loop, constant:100", "asked 100.0/s", "status       200: 4", "errors       timeout: 2",
		"corrected", "uncorrected", "scheduler lag", "p99.9", "distribution (ms)", "#"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

// Memory stays flat however long the run: nothing is kept per request. A
// run ten times longer must not hold more memory after it than a short one
// (within a margin that a per-request record of even 100 bytes would
// exceed many times over).
func TestMemoryDoesNotGrowWithRequests(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 22,000 requests")
	}
	// A server that keeps nothing per request either.
	ep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte(`{"ok":true}`))
	}))
	defer ep.Close()
	heapAfter := func(requests uint64) (uint64, *Result) {
		r, err := New(Config{Target: Target{URL: ep.URL}, Requests: requests, Concurrency: 4, Clock: clock.Real{}, Duplicates: 0.1})
		if err != nil {
			t.Fatal(err)
		}
		res, _ := r.Run(t.Context())
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		runtime.KeepAlive(r)
		return m.HeapAlloc, res
	}
	short, _ := heapAfter(2000)
	long, res := heapAfter(20000)
	if res.Completed != 20000 {
		t.Fatalf("%d completed", res.Completed)
	}
	growth := int64(long) - int64(short)
	t.Logf("heap after 2,000 requests: %d KB; after 20,000: %d KB", short>>10, long>>10)
	if growth > 1<<20 {
		t.Errorf("heap grew by %d KB from 2,000 to 20,000 requests", growth>>10)
	}
}
