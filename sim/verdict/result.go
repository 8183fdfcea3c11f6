package verdict

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Schema names the Result JSON layout. A change that renames or removes a
// field, or changes a unit, bumps the version; adding a field does not.
const Schema = "hookrig.result/v1"

// Result is what a run guarantees, as the checker worked it out after the
// drain. It is plain data with stable JSON names (documented in
// docs/result-schema.md). Every time in it is an offset from the run's
// start in virtual or wall time, never a wall-clock instant or a measure of
// how fast the run went, so the same virtual run gives byte-identical JSON.
type Result struct {
	Schema      string `json:"schema"`
	Scenario    string `json:"scenario"`
	Description string `json:"description,omitempty"`
	Mode        string `json:"mode"`
	Seed        uint64 `json:"seed"`
	TraceHash   string `json:"trace_hash"`
	// Replay is the command line that runs this again (e.g. "hookrig sim
	// flaky-5xx --seed 42"). The checker leaves it empty: command lines
	// are the CLI's to write, which fills it in before rendering.
	Replay string `json:"replay,omitempty"`
	// Shards is how many results Merge combined (0 for a single run).
	Shards int `json:"shards,omitempty"`
	// Passed says every assertion and every run check held (true when
	// there are none).
	Passed bool `json:"passed"`
	// Target is what was tested: which receiver and sender.
	Target Target `json:"target"`
	// Findings are plain sentences on what was clearly wrong (Diagnose),
	// worst first; none for a healthy run.
	Findings []string `json:"findings"`

	Run      RunSpan   `json:"run"`
	Events   Events    `json:"events"`
	Receipts Receipts  `json:"receipts"`
	Ordering Ordering  `json:"ordering"`
	Latency  Latencies `json:"latency_ms"`
	Attempts Attempts  `json:"attempts"`
	Endpoint Endpoint  `json:"endpoint"`
	Herd     Herd      `json:"herd"`
	Load     LoadStats `json:"load"`
	// Endpoints breaks a fleet's figures down by group; Isolation is the
	// healthy groups' p99 against their baseline (fleet.go). Both are
	// absent for a run with one endpoint.
	Endpoints *Fleet     `json:"endpoints,omitempty"`
	Isolation *Isolation `json:"isolation,omitempty"`
	// Instances are the sender's and receivers' instances, for a run on
	// PostgreSQL or with several receivers (instances.go).
	Instances *Instances `json:"instances,omitempty"`

	Faults            []FaultResult `json:"faults"`
	Phases            []PhaseResult `json:"phases"`
	Timeline          Timeline      `json:"timeline"`
	DeadLetterReasons []ReasonCount `json:"dead_letter_reasons"`
	Examples          Examples      `json:"examples"`
	Histograms        Histograms    `json:"histograms"`
	Assertions        []Assertion   `json:"assertions"`
	// RunChecks are the verdicts no scenario can switch off (sim.Check):
	// a run with nothing delivered fails, and so does one that ends with
	// events pending unless the scenario allows it.
	RunChecks []Assertion `json:"run_checks"`
	// Notes are caveats about the numbers (records ignored, a timeline
	// cut short), in words.
	Notes []string `json:"notes"`

	// WallTime and SpeedUp describe how fast the run went. They depend on
	// the machine, so they stay out of the JSON; the text footer prints
	// them when the runner set them.
	WallTime time.Duration `json:"-"`
	SpeedUp  float64       `json:"-"`
}

// RunSpan is the run's extent, in seconds since it started.
type RunSpan struct {
	LoadEndS      float64 `json:"load_end_s"`
	EndS          float64 `json:"end_s"`
	DrainTimedOut bool    `json:"drain_timed_out"`
}

// Events are the delivery-guarantee categories (ARCHITECTURE.md, "Identity
// and the checker"). Accepted = Delivered + Lost + DeadLettered + Pending.
type Events struct {
	Accepted int64 `json:"accepted"`
	// Delivered: accepted and acknowledged (verified 2xx) at least once.
	Delivered int64 `json:"delivered"`
	// Lost: accepted, never acknowledged, not dead-lettered, not pending.
	Lost int64 `json:"lost"`
	// Duplicated counts events acknowledged more than once;
	// DuplicateDeliveries the acknowledgements beyond each one's first.
	Duplicated          int64 `json:"duplicated"`
	DuplicateDeliveries int64 `json:"duplicate_deliveries"`
	DeadLettered        int64 `json:"dead_lettered"`
	Pending             int64 `json:"pending"`
	// Unexpected counts ids received but never accepted.
	Unexpected int64 `json:"unexpected"`
	// Reordered counts inversion pairs: two events of one key received in
	// the opposite order to the one they were accepted in.
	Reordered int64 `json:"reordered"`
	// DeadLetteredReceived counts delivered events the sender nevertheless
	// dead-lettered (their acknowledgements were lost): replaying the dead
	// letters would deliver them again.
	DeadLetteredReceived int64 `json:"dead_lettered_received"`
}

// Receipts count what the receiving end saw.
type Receipts struct {
	Total        int64 `json:"total"`
	Acknowledged int64 `json:"acknowledged"`
	// Rejected were answered with a non-2xx or failed verification.
	Rejected int64 `json:"rejected"`
	// Deduplicated were flagged by the receiver's own dedupe.
	Deduplicated int64 `json:"deduplicated"`
	// Unexpected were for ids never accepted.
	Unexpected int64 `json:"unexpected"`
}

// Ordering describes reordering among events that share a key.
type Ordering struct {
	Keys          int64 `json:"keys"`
	KeysReordered int64 `json:"keys_reordered"`
	// EventsOutOfOrder were received before some event of their key that
	// was accepted earlier.
	EventsOutOfOrder int64 `json:"events_out_of_order"`
}

// Latencies are in milliseconds.
type Latencies struct {
	// Delivery is from acceptance to the first acknowledged receipt.
	Delivery LatencySummary `json:"delivery"`
}

// LatencySummary summarises one HDR histogram, in milliseconds with
// microsecond resolution. Percentiles and mean come from the histogram (3
// significant figures); min and max are exact.
type LatencySummary struct {
	Count int64   `json:"count"`
	Min   float64 `json:"min"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
}

// Attempts count delivery attempts on accepted events.
type Attempts struct {
	Total   int64 `json:"total"`
	Failed  int64 `json:"failed"`
	Faulted int64 `json:"faulted"`
	// Unmatched attempts carried an id that was never accepted; they are
	// not in Total.
	Unmatched int64 `json:"unmatched"`
	// Amplification is Total / accepted events (1.0: no retries).
	Amplification float64      `json:"amplification"`
	PerEvent      Distribution `json:"per_event"`
}

// Distribution is an exact distribution of a per-event count over every
// accepted event. Counts lists [value, events] pairs in value order.
type Distribution struct {
	Mean   float64    `json:"mean"`
	P50    int64      `json:"p50"`
	P99    int64      `json:"p99"`
	Max    int64      `json:"max"`
	Counts [][2]int64 `json:"counts"`
}

// Herd is the worst retry storm after a fault window closed.
type Herd struct {
	// PeakRate is the highest attempts in one second after any window
	// closed; Ratio that peak over the rate before the window opened (0
	// when there were no attempts before it); Rule names the window.
	PeakRate float64 `json:"peak_rate"`
	Ratio    float64 `json:"ratio"`
	Rule     string  `json:"rule"`
}

// LoadStats are what the load generator saw at the sender's ingest.
type LoadStats struct {
	Sent     int64 `json:"sent"`
	Rejected int64 `json:"rejected"`
}

// FaultResult is one fault window and the attempts around it.
type FaultResult struct {
	Rule   string  `json:"rule"`
	Fault  string  `json:"fault"`
	StartS float64 `json:"start_s"`
	EndS   float64 `json:"end_s"`
	// Attempts and Failed happened while the window was open.
	Attempts int64 `json:"attempts"`
	Failed   int64 `json:"failed"`
	// RateBefore is the mean attempts/s in the minute (at most the
	// window's length) before it opened; PeakRateAfter the most attempts
	// in a 1 s window after its close, until the next window opens or the
	// run ends, that window starting at PeakAtS: 1 s windows starting
	// every 100 ms from the close (rounded up to 10 ms) over the first
	// 10 s, then whole seconds of the timeline; HerdRatio = PeakRateAfter
	// / RateBefore (0 when RateBefore is 0).
	RateBefore    float64 `json:"rate_before"`
	PeakRateAfter float64 `json:"peak_rate_after"`
	PeakAtS       float64 `json:"peak_at_s"`
	HerdRatio     float64 `json:"herd_ratio"`
	// AfterAttempts counts attempts per 100 ms from the close (rounded
	// up to 10 ms), for 10 s or until the next window opens or the run
	// ends (at least 1 s): what the sliding windows are taken over, kept
	// so that merged results find the peak exactly.
	AfterAttempts []int64 `json:"after_attempts"`
	// PeakIsUpperBound is set on merged results whose timeline was too
	// coarse to re-derive the peak: it is then the sum of the shards'
	// peaks.
	PeakIsUpperBound bool `json:"peak_is_upper_bound,omitempty"`
}

// PhaseResult is one row of the per-phase table: events by the phase they
// were accepted in.
type PhaseResult struct {
	Name   string  `json:"name"`
	StartS float64 `json:"start_s"`
	EndS   float64 `json:"end_s"`
	EventCounts
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
	// HdrUs is the phase's delivery-latency histogram (see Histograms).
	HdrUs string `json:"hdr_us"`
}

// EventCounts are a share of the events by category (a phase's, a fleet
// group's), under the names of Events: Accepted = Delivered + Lost +
// DeadLettered + Pending.
type EventCounts struct {
	Accepted     int64 `json:"accepted"`
	Delivered    int64 `json:"delivered"`
	Lost         int64 `json:"lost"`
	Duplicated   int64 `json:"duplicated"`
	DeadLettered int64 `json:"dead_lettered"`
	Pending      int64 `json:"pending"`
}

// Timeline is per-bucket counts over the run, StepS seconds a bucket,
// bucket i covering [i*StepS, (i+1)*StepS). The step is one second unless
// that would make more than MaxTimelineBuckets buckets.
type Timeline struct {
	StepS     int64   `json:"step_s"`
	Accepted  []int64 `json:"accepted"`
	Attempted []int64 `json:"attempted"`
	Delivered []int64 `json:"delivered"`
	Failed    []int64 `json:"failed"`
}

// ReasonCount is how many events were dead-lettered for one reason.
type ReasonCount struct {
	Reason string `json:"reason"`
	Count  int64  `json:"count"`
}

// Examples are the first few ids of each bad category, for debugging:
// events in acceptance order, unexpected ids in the order they arrived,
// keys by how many inversions they had.
type Examples struct {
	Limit         int      `json:"limit"`
	Lost          []string `json:"lost"`
	Duplicated    []string `json:"duplicated"`
	DeadLettered  []string `json:"dead_lettered"`
	Pending       []string `json:"pending"`
	Unexpected    []string `json:"unexpected"`
	ReorderedKeys []string `json:"reordered_keys"`
}

// Histograms hold HDR histograms in the HdrHistogram V2 compressed
// encoding (base64), values in microseconds, so a saved result can be
// re-rendered and merged exactly.
type Histograms struct {
	DeliveryUs string `json:"delivery_us"`
	// ResponseUs is the endpoint's time to answer (Endpoint.Response).
	ResponseUs string `json:"response_us"`
}

// Assertion is one scenario assertion's verdict.
type Assertion struct {
	Expr    string `json:"expr"`
	Passed  bool   `json:"passed"`
	Message string `json:"message"`
}

// SetAssertions records the assertions' verdicts; the result passes when
// every one held.
func (r *Result) SetAssertions(as []Assertion) {
	r.Assertions = append([]Assertion{}, as...)
	r.Passed = true
	for _, a := range as {
		r.Passed = r.Passed && a.Passed
	}
}

// SetRunChecks records the run checks' verdicts; the result passes when
// they and the assertions all held.
func (r *Result) SetRunChecks(cs []Assertion) {
	r.RunChecks = append([]Assertion{}, cs...)
	r.Passed = true
	for _, a := range slices.Concat(r.Assertions, r.RunChecks) {
		r.Passed = r.Passed && a.Passed
	}
}

// FailedRunChecks lists the run checks that did not hold.
func (r *Result) FailedRunChecks() []Assertion {
	return slices.DeleteFunc(slices.Clone(r.RunChecks), func(a Assertion) bool { return a.Passed })
}

// FailureSummary says in a few words why the run failed, run checks
// first: "nothing delivered · 38 events pending · 2 of 3 assertions
// failed"; "" when it passed.
func (r *Result) FailureSummary() string {
	var why []string
	for _, c := range r.FailedRunChecks() {
		switch c.Expr {
		case "delivered > 0":
			why = append(why, "nothing delivered")
		case "pending == 0":
			why = append(why, fmt.Sprintf("%d %s pending", r.Events.Pending, plural(r.Events.Pending, "event")))
		default:
			why = append(why, c.Expr+" failed")
		}
	}
	if n, failed := len(r.Assertions), r.FailedAssertions(); failed > 0 || !r.Passed && len(why) == 0 {
		why = append(why, fmt.Sprintf("%d of %d %s failed", failed, n, plural(int64(n), "assertion")))
	}
	return strings.Join(why, " · ")
}

// FailedAssertions counts the assertions that did not hold.
func (r *Result) FailedAssertions() int {
	n := 0
	for _, a := range r.Assertions {
		if !a.Passed {
			n++
		}
	}
	return n
}

// DeliveryHistogram decodes the delivery-latency histogram (microseconds).
func (r *Result) DeliveryHistogram() (*hdrhistogram.Histogram, error) {
	return DecodeHistogram(r.Histograms.DeliveryUs)
}

// Validate checks a Result read from a file: the schema it claims and the
// parts a renderer relies on.
func (r *Result) Validate() error {
	if r.Schema != Schema {
		if r.Schema == "" {
			return fmt.Errorf("not a hookrig result: no \"schema\" field (expected %q)", Schema)
		}
		return fmt.Errorf("result schema %q is not supported (expected %q)", r.Schema, Schema)
	}
	if r.Timeline.StepS < 1 {
		return fmt.Errorf("timeline.step_s is %d, expected at least 1", r.Timeline.StepS)
	}
	n := len(r.Timeline.Accepted)
	if len(r.Timeline.Attempted) != n || len(r.Timeline.Delivered) != n || len(r.Timeline.Failed) != n {
		return errors.New("timeline series have different lengths")
	}
	if _, err := DecodeHistogram(r.Histograms.DeliveryUs); err != nil {
		return fmt.Errorf("histograms.delivery_us: %w", err)
	}
	if _, err := DecodeHistogram(r.Histograms.ResponseUs); err != nil {
		return fmt.Errorf("histograms.response_us: %w", err)
	}
	for _, p := range r.Phases {
		if _, err := DecodeHistogram(p.HdrUs); err != nil {
			return fmt.Errorf("phase %q hdr_us: %w", p.Name, err)
		}
	}
	r.normalize()
	return nil
}

// normalize makes every list non-nil, so JSON shows [] rather than null
// and a decoded result renders like a fresh one.
func (r *Result) normalize() {
	nonNil(&r.Faults)
	nonNil(&r.Phases)
	nonNil(&r.DeadLetterReasons)
	nonNil(&r.Assertions)
	nonNil(&r.RunChecks)
	nonNil(&r.Findings)
	nonNil(&r.Endpoint.Failures)
	nonNil(&r.Endpoint.Disables)
	nonNil(&r.Notes)
	nonNil(&r.Attempts.PerEvent.Counts)
	for _, s := range []*[]int64{&r.Timeline.Accepted, &r.Timeline.Attempted, &r.Timeline.Delivered, &r.Timeline.Failed} {
		nonNil(s)
	}
	ex := &r.Examples
	for _, s := range []*[]string{&ex.Lost, &ex.Duplicated, &ex.DeadLettered, &ex.Pending, &ex.Unexpected, &ex.ReorderedKeys} {
		nonNil(s)
	}
}

func nonNil[T any](s *[]T) {
	if *s == nil {
		*s = []T{}
	}
}

// Histogram geometry: 1 µs to 30 days at 3 significant figures, enough
// for a virtual run that retries for days. Larger values are clamped.
const (
	histLowest  = 1
	histHighest = int64(30 * 24 * time.Hour / time.Microsecond)
	histSigFigs = 3
)

// NewHistogram returns an empty latency histogram in microseconds, in the
// geometry every Result histogram uses (so they merge exactly).
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histLowest, histHighest, histSigFigs)
}

// EncodeHistogram encodes h for a Result.
func EncodeHistogram(h *hdrhistogram.Histogram) string {
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		// Encoding an in-memory histogram only fails on a bug.
		panic(fmt.Sprintf("sim: encoding histogram: %v", err))
	}
	return string(b)
}

// DecodeHistogram decodes a Result histogram; "" is an empty one.
func DecodeHistogram(s string) (*hdrhistogram.Histogram, error) {
	if s == "" {
		return NewHistogram(), nil
	}
	h, err := hdrhistogram.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("not an HdrHistogram V2 encoding: %v", err)
	}
	return h, nil
}

// summarize reads a latency summary off a histogram in µs; minUs and maxUs
// are the exact extremes.
func summarize(h *hdrhistogram.Histogram, minUs, maxUs int64) LatencySummary {
	if h.TotalCount() == 0 {
		return LatencySummary{}
	}
	ms := func(us int64) float64 { return round3(float64(us) / 1000) }
	q := func(p float64) float64 {
		// The histogram's value is the top of its bucket; never report
		// more than the exact max.
		return ms(min(h.ValueAtQuantile(p), maxUs))
	}
	return LatencySummary{
		Count: h.TotalCount(),
		Min:   ms(minUs),
		Mean:  round3(h.Mean() / 1000),
		P50:   q(50),
		P90:   q(90),
		P99:   q(99),
		P999:  q(99.9),
		Max:   ms(maxUs),
	}
}

// distribution turns exact [value, events] counts (sorted by value) into
// a Distribution.
func distribution(counts [][2]int64) Distribution {
	d := Distribution{Counts: counts}
	var n, sum int64
	for _, c := range counts {
		n += c[1]
		sum += c[0] * c[1]
	}
	if n == 0 {
		d.Counts = [][2]int64{}
		return d
	}
	d.Mean = round4(float64(sum) / float64(n))
	d.P50 = countQuantile(counts, n, 0.50)
	d.P99 = countQuantile(counts, n, 0.99)
	d.Max = counts[len(counts)-1][0]
	return d
}

// countQuantile is the smallest value with at least q of the events at or
// below it.
func countQuantile(counts [][2]int64, n int64, q float64) int64 {
	rank := int64(math.Ceil(q * float64(n)))
	var cum int64
	for _, c := range counts {
		cum += c[1]
		if cum >= rank {
			return c[0]
		}
	}
	return counts[len(counts)-1][0]
}

func round3(x float64) float64 { return math.Round(x*1e3) / 1e3 }
func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

func seconds(d time.Duration) float64 { return round3(d.Seconds()) }
