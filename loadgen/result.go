package loadgen

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// ResultVersion is the version of the JSON result format. Readers refuse
// other versions rather than misread them.
const ResultVersion = 1

// Result is what a run measured. Latency histograms are in microseconds.
// Results of shards of one run merge exactly (Merge).
type Result struct {
	Mode   string // "open" (paced) or "closed" (fixed concurrency)
	Target string
	Pacer  string // the asked load, e.g. "constant:2000"; "" in a closed loop
	Shard  int    // this result's shard, counted from 0 (when Shards > 1)
	Shards int    // how many shards the run had; merged results keep the count

	Started  time.Time
	Duration time.Duration // the window requests were sent in
	Elapsed  time.Duration // until the last answer

	Requests      uint64 // requests sent
	Completed     uint64 // requests that got an answer or an error
	NeverSent     uint64 // requests that were due but never sent: the target could not keep up
	Duplicates    uint64 // requests that re-sent an earlier event's id
	RateRequested float64
	RateAchieved  float64
	StatusCodes   map[int]uint64
	Errors        map[string]uint64 // by kind: timeout, refused, reset, eof, protocol, tls, canceled, payload, other
	BytesSent     uint64
	BytesReceived uint64
	Connections   int // most connections open at once (summed over shards)

	// Corrected latency runs from each request's intended send time, so
	// time a request spent waiting to be sent counts; Uncorrected from
	// when it was actually sent. Lag is intended → actual send. In a
	// closed loop there are no intended times: Corrected equals
	// Uncorrected and Lag is empty.
	Corrected, Uncorrected, Lag *hdr.Histogram
	// Classes holds corrected and uncorrected latency per status class
	// ("2xx", "5xx", ..., "error" for no answer).
	Classes map[string]ClassLatency

	Interrupted bool // the run was stopped before its end (Ctrl-C)
}

// ClassLatency is the latency of one status class.
type ClassLatency struct {
	Corrected, Uncorrected *hdr.Histogram
}

// Success is the share of completed requests answered 2xx.
func (r *Result) Success() float64 {
	if r.Completed == 0 {
		return 0
	}
	var ok uint64
	for st, n := range r.StatusCodes {
		if st/100 == 2 {
			ok += n
		}
	}
	return float64(ok) / float64(r.Completed)
}

// ErrorCount is the number of requests that got no HTTP answer.
func (r *Result) ErrorCount() uint64 {
	var n uint64
	for _, c := range r.Errors {
		n += c
	}
	return n
}

// Summary is a histogram's figures as durations.
type Summary struct {
	Count                               int64
	Min, Mean, P50, P90, P99, P999, Max time.Duration
}

// Summarize reads the usual percentiles off a histogram in µs.
func Summarize(h *hdr.Histogram) Summary {
	if h == nil || h.TotalCount() == 0 {
		return Summary{}
	}
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	return Summary{
		Count: h.TotalCount(),
		Min:   us(h.Min()), Mean: time.Duration(h.Mean() * float64(time.Microsecond)),
		P50: us(h.ValueAtPercentile(50)), P90: us(h.ValueAtPercentile(90)),
		P99: us(h.ValueAtPercentile(99)), P999: us(h.ValueAtPercentile(99.9)),
		Max: us(h.Max()),
	}
}

// WriteHgrm writes h as the percentile distribution HdrHistogram's plotter
// reads (.hgrm), values in milliseconds.
func WriteHgrm(w io.Writer, h *hdr.Histogram) error {
	_, err := h.PercentilesPrint(w, 5, 1000)
	return err
}

// The JSON form. Times in latency_ms are milliseconds; the hdr section
// holds each histogram in HdrHistogram's compressed base64 encoding (µs),
// which is what Merge reads back.
type resultJSON struct {
	Version       int                  `json:"version"`
	Tool          string               `json:"tool"`
	Mode          string               `json:"mode"`
	Target        string               `json:"target"`
	Pacer         string               `json:"pacer,omitempty"`
	Shard         int                  `json:"shard"`
	Shards        int                  `json:"shards"`
	Started       time.Time            `json:"started"`
	DurationS     float64              `json:"duration_s"`
	ElapsedS      float64              `json:"elapsed_s"`
	Requests      uint64               `json:"requests"`
	Completed     uint64               `json:"completed"`
	NeverSent     uint64               `json:"never_sent"`
	Duplicates    uint64               `json:"duplicates"`
	RateRequested float64              `json:"rate_requested"`
	RateAchieved  float64              `json:"rate_achieved"`
	Success       float64              `json:"success"`
	StatusCodes   map[string]uint64    `json:"status_codes"`
	Errors        map[string]uint64    `json:"errors"`
	BytesSent     uint64               `json:"bytes_sent"`
	BytesReceived uint64               `json:"bytes_received"`
	Connections   int                  `json:"connections"`
	Interrupted   bool                 `json:"interrupted"`
	LatencyMS     latencyJSON          `json:"latency_ms"`
	Classes       map[string]classJSON `json:"classes"`
	HDR           hdrJSON              `json:"hdr"`
}

type latencyJSON struct {
	Corrected   summaryJSON  `json:"corrected"`
	Uncorrected summaryJSON  `json:"uncorrected"`
	Lag         *summaryJSON `json:"scheduler_lag,omitempty"`
}

type summaryJSON struct {
	Count int64   `json:"count"`
	Min   float64 `json:"min"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
}

type classJSON struct {
	Count       int64       `json:"count"`
	Corrected   summaryJSON `json:"corrected_ms"`
	Uncorrected summaryJSON `json:"uncorrected_ms"`
}

type hdrJSON struct {
	Unit        string                       `json:"unit"`
	Corrected   string                       `json:"corrected"`
	Uncorrected string                       `json:"uncorrected"`
	Lag         string                       `json:"scheduler_lag"`
	Classes     map[string]map[string]string `json:"classes"`
}

func msOf(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 } // µs precision

func summaryOf(h *hdr.Histogram) summaryJSON {
	s := Summarize(h)
	return summaryJSON{Count: s.Count, Min: msOf(s.Min), Mean: msOf(s.Mean), P50: msOf(s.P50), P90: msOf(s.P90),
		P99: msOf(s.P99), P999: msOf(s.P999), Max: msOf(s.Max)}
}

func encodeHist(h *hdr.Histogram) (string, error) {
	if h == nil {
		h = newHist()
	}
	b, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
	return string(b), err
}

// MarshalJSON writes the documented result format (README, "hookrig bench").
func (r *Result) MarshalJSON() ([]byte, error) {
	j := resultJSON{
		Version: ResultVersion, Tool: "hookrig bench", Mode: r.Mode, Target: r.Target, Pacer: r.Pacer,
		Shard: r.Shard, Shards: max(r.Shards, 1), Started: r.Started,
		DurationS: r.Duration.Seconds(), ElapsedS: r.Elapsed.Seconds(),
		Requests: r.Requests, Completed: r.Completed, NeverSent: r.NeverSent, Duplicates: r.Duplicates,
		RateRequested: r.RateRequested, RateAchieved: r.RateAchieved, Success: r.Success(),
		StatusCodes: map[string]uint64{}, Errors: map[string]uint64{},
		BytesSent: r.BytesSent, BytesReceived: r.BytesReceived, Connections: r.Connections, Interrupted: r.Interrupted,
		LatencyMS: latencyJSON{Corrected: summaryOf(r.Corrected), Uncorrected: summaryOf(r.Uncorrected)},
		Classes:   map[string]classJSON{},
		HDR:       hdrJSON{Unit: "us", Classes: map[string]map[string]string{}},
	}
	if r.Mode == "open" {
		lag := summaryOf(r.Lag)
		j.LatencyMS.Lag = &lag
	}
	for st, n := range r.StatusCodes {
		j.StatusCodes[strconv.Itoa(st)] = n
	}
	maps.Copy(j.Errors, r.Errors)
	var err error
	enc := func(h *hdr.Histogram) string {
		s, e := encodeHist(h)
		if e != nil && err == nil {
			err = e
		}
		return s
	}
	j.HDR.Corrected, j.HDR.Uncorrected, j.HDR.Lag = enc(r.Corrected), enc(r.Uncorrected), enc(r.Lag)
	for name, c := range r.Classes {
		j.Classes[name] = classJSON{Count: c.Corrected.TotalCount(), Corrected: summaryOf(c.Corrected), Uncorrected: summaryOf(c.Uncorrected)}
		j.HDR.Classes[name] = map[string]string{"corrected": enc(c.Corrected), "uncorrected": enc(c.Uncorrected)}
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads a result written by MarshalJSON, histograms included.
func (r *Result) UnmarshalJSON(b []byte) error {
	var j resultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if j.Version != ResultVersion {
		return fmt.Errorf("result version %d: this hookrig reads version %d", j.Version, ResultVersion)
	}
	if j.HDR.Unit != "us" {
		return fmt.Errorf("result histograms in %q: want \"us\"", j.HDR.Unit)
	}
	dec := func(what, s string) (*hdr.Histogram, error) {
		if s == "" {
			return nil, fmt.Errorf("result has no %s histogram", what)
		}
		h, err := hdr.Decode([]byte(s))
		if err != nil {
			return nil, fmt.Errorf("%s histogram: %v", what, err)
		}
		return h, nil
	}
	out := Result{
		Mode: j.Mode, Target: j.Target, Pacer: j.Pacer, Shard: j.Shard, Shards: j.Shards, Started: j.Started,
		Duration: time.Duration(j.DurationS * 1e9), Elapsed: time.Duration(j.ElapsedS * 1e9),
		Requests: j.Requests, Completed: j.Completed, NeverSent: j.NeverSent, Duplicates: j.Duplicates,
		RateRequested: j.RateRequested, RateAchieved: j.RateAchieved,
		StatusCodes: map[int]uint64{}, Errors: map[string]uint64{},
		BytesSent: j.BytesSent, BytesReceived: j.BytesReceived, Connections: j.Connections, Interrupted: j.Interrupted,
		Classes: map[string]ClassLatency{},
	}
	for k, n := range j.StatusCodes {
		st, err := strconv.Atoi(k)
		if err != nil || st < 100 || st > 599 {
			return fmt.Errorf("status code %q is not one", k)
		}
		out.StatusCodes[st] = n
	}
	maps.Copy(out.Errors, j.Errors)
	var err error
	if out.Corrected, err = dec("corrected", j.HDR.Corrected); err != nil {
		return err
	}
	if out.Uncorrected, err = dec("uncorrected", j.HDR.Uncorrected); err != nil {
		return err
	}
	if out.Lag, err = dec("scheduler_lag", j.HDR.Lag); err != nil {
		return err
	}
	for name, hs := range j.HDR.Classes {
		var c ClassLatency
		if c.Corrected, err = dec(name+" corrected", hs["corrected"]); err != nil {
			return err
		}
		if c.Uncorrected, err = dec(name+" uncorrected", hs["uncorrected"]); err != nil {
			return err
		}
		out.Classes[name] = c
	}
	*r = out
	return nil
}

// Merge combines the results of shards that ran at the same time (one per
// machine) into one: counts add up, rates add up (the shards sent side by
// side), histograms merge exactly, so percentiles are those of all requests
// together, not an average of percentiles.
func Merge(results ...*Result) (*Result, error) {
	if len(results) == 0 {
		return nil, errors.New("nothing to merge")
	}
	m := &Result{
		Mode: results[0].Mode, Target: results[0].Target, Pacer: results[0].Pacer,
		Started:     results[0].Started,
		StatusCodes: map[int]uint64{}, Errors: map[string]uint64{}, Classes: map[string]ClassLatency{},
		Corrected: newHist(), Uncorrected: newHist(), Lag: newHist(),
	}
	seen := map[int]bool{}
	for i, r := range results {
		if r.Mode != m.Mode {
			return nil, fmt.Errorf("result %d is a %s-loop run, result 1 a %s-loop run: they do not merge", i+1, r.Mode, m.Mode)
		}
		if r.Shards > 1 {
			if seen[r.Shard] {
				return nil, fmt.Errorf("result %d is shard %d/%d again", i+1, r.Shard, r.Shards)
			}
			seen[r.Shard] = true
		}
		if r.Target != m.Target {
			m.Target = "(several targets)"
		}
		if r.Pacer != m.Pacer {
			m.Pacer = "(several pacers)"
		}
		if r.Started.Before(m.Started) {
			m.Started = r.Started
		}
		m.Shards = max(m.Shards, r.Shards)
		m.Duration = max(m.Duration, r.Duration)
		m.Elapsed = max(m.Elapsed, r.Elapsed)
		m.Requests += r.Requests
		m.Completed += r.Completed
		m.NeverSent += r.NeverSent
		m.Duplicates += r.Duplicates
		m.RateRequested += r.RateRequested
		m.RateAchieved += r.RateAchieved
		m.BytesSent += r.BytesSent
		m.BytesReceived += r.BytesReceived
		m.Connections += r.Connections
		m.Interrupted = m.Interrupted || r.Interrupted
		for st, n := range r.StatusCodes {
			m.StatusCodes[st] += n
		}
		for k, n := range r.Errors {
			m.Errors[k] += n
		}
		for _, pair := range [][2]*hdr.Histogram{{m.Corrected, r.Corrected}, {m.Uncorrected, r.Uncorrected}, {m.Lag, r.Lag}} {
			if pair[1] != nil {
				pair[0].Merge(pair[1])
			}
		}
		for _, name := range slices.Sorted(maps.Keys(r.Classes)) {
			c := r.Classes[name]
			mc, ok := m.Classes[name]
			if !ok {
				mc = ClassLatency{Corrected: newHist(), Uncorrected: newHist()}
				m.Classes[name] = mc
			}
			mc.Corrected.Merge(c.Corrected)
			mc.Uncorrected.Merge(c.Uncorrected)
		}
	}
	if m.Shards > 1 && len(seen) != m.Shards {
		var missing []string
		for i := 0; i < m.Shards; i++ {
			if !seen[i] {
				missing = append(missing, fmt.Sprintf("%d/%d", i, m.Shards))
			}
		}
		return m, &MissingShardsError{Missing: missing}
	}
	return m, nil
}

// MissingShardsError says a merge lacked some shards of the run; the
// merged result is still returned alongside it.
type MissingShardsError struct{ Missing []string }

func (e *MissingShardsError) Error() string {
	return fmt.Sprintf("shards %v are missing: the merged result covers only part of the run", e.Missing)
}
