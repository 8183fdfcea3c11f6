package sender

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/internal/metrics"
	"github.com/hookrig/hookrig/reference/sender/delivery"
)

// The sender's Prometheus metrics (GET /metrics on its API). Counts the
// outbox already keeps are read at scrape time; they are durable, so they
// carry over a restart as /v1/stats does. What only a moment knows (an
// attempt's outcome and duration, an event's time to delivery, a
// commit's latency) is observed there, once per attempt or commit, never
// per API request; those count from the process's start.
var (
	descAccepted     = metrics.Desc("hookrig_sender_events_accepted_total", "Events accepted (durable in the outbox).")
	descDelivered    = metrics.Desc("hookrig_sender_events_delivered_total", "Events delivered (a 2xx).")
	descDeadLettered = metrics.Desc("hookrig_sender_dead_lettered_total", "Events the sender gave up on (dead-lettered).")
	descReplayed     = metrics.Desc("hookrig_sender_replayed_total", "Dead letters replayed.")
	descRemoved      = metrics.Desc("hookrig_sender_events_removed_total", "Delivered events removed from the outbox by retention (--retain); they still count as delivered.")
	descPending      = metrics.Desc("hookrig_sender_pending", "Events accepted and neither delivered nor dead-lettered.")
	descInFlight     = metrics.Desc("hookrig_sender_in_flight", "Attempts under way.")
	descWaiting      = metrics.Desc("hookrig_sender_waiting", "Events held behind their ordering key's head.")
	descEndpoints    = metrics.Desc("hookrig_sender_endpoints", "Endpoints registered.")
	descDisabled     = metrics.Desc("hookrig_sender_endpoints_disabled", "Endpoints disabled (410 Gone, or by hand).")
	descBreakers     = metrics.Desc("hookrig_sender_breaker_open", "Endpoints whose circuit breaker is not closed (open or half-open).")
	descCommits      = metrics.Desc("hookrig_sender_outbox_commits_total", "Outbox transactions committed (one fsync each).")
	descWrites       = metrics.Desc("hookrig_sender_outbox_writes_total", "Changes committed to the outbox; over commits, the writes per fsync.")
)

// attemptOutcomes are the outcome label's values: the answer's status
// class, or the transport error (delivery.ErrKind) when there was none.
var attemptOutcomes = [...]string{"delivered", "status_1xx", "status_3xx", "status_4xx", "status_5xx", "status_other",
	"timeout", "reset", "refused", "eof", "other", "interrupted"}

// senderMetrics is one sender's registry and the figures observed as
// attempts and commits finish.
type senderMetrics struct {
	reg      *prometheus.Registry
	clock    clock.Clock
	attempts [len(attemptOutcomes)]prometheus.Counter
	attempt  prometheus.Histogram
	delivery prometheus.Histogram
	commit   prometheus.Histogram
	group    prometheus.Histogram
	released prometheus.Counter
	byEP     *endpointAttempts // nil unless Config.MetricsEndpoints > 0
}

// endpointAttempts counts attempts by endpoint id for a capped number of
// endpoints (the opt-in Config.MetricsEndpoints): past the cap, an
// endpoint's attempts count as "other", so a fleet of 10,000 cannot make
// 10,000 x outcomes series.
type endpointAttempts struct {
	vec  *prometheus.CounterVec
	max  int
	mu   sync.Mutex
	seen map[string]struct{}
}

// otherEndpoints is the endpoint label past the cap.
const otherEndpoints = "other"

func (e *endpointAttempts) add(endpoint, outcome string) {
	e.mu.Lock()
	if _, ok := e.seen[endpoint]; !ok {
		if len(e.seen) < e.max {
			e.seen[endpoint] = struct{}{}
		} else {
			endpoint = otherEndpoints
		}
	}
	e.mu.Unlock()
	e.vec.WithLabelValues(endpoint, outcome).Inc()
}

func newMetrics(s *Sender) *senderMetrics {
	m := &senderMetrics{
		reg:   prometheus.NewRegistry(),
		clock: s.clock,
		attempt: metrics.Histogram("hookrig_sender_attempt_seconds",
			"One attempt: from sending the request to its answer (or its failure)."),
		delivery: metrics.Histogram("hookrig_sender_delivery_seconds",
			"From an event's acceptance (or its replay) to the end of the attempt that delivered it, retries included.", metrics.LongBuckets...),
		commit: metrics.Histogram("hookrig_sender_outbox_commit_seconds",
			"One outbox transaction, its fsync included (group commit: it carries every change queued meanwhile)."),
		group: metrics.Histogram("hookrig_sender_outbox_writes_per_commit",
			"Changes (ingests, claims, outcomes) sharing one outbox transaction.", prometheus.ExponentialBuckets(1, 2, 13)...), // 1 .. 4096 (maxGroup)
		released: prometheus.NewCounter(prometheus.CounterOpts{Name: "hookrig_sender_outbox_pages_released_total",
			Help: "Free pages of the bbolt outbox dropped from the sender's memory (they stay in the file for reuse)."}),
	}
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hookrig_sender_attempts_total",
		Help: "Attempts by outcome: delivered (2xx), status_4xx, status_5xx, ... by the answer's class, or the transport error " +
			"(timeout, reset, refused, eof, other); interrupted ones were in flight at a crash, found on the next start.",
	}, []string{"outcome"})
	for i, o := range attemptOutcomes {
		m.attempts[i] = vec.WithLabelValues(o) // resolved once: no label lookup per attempt
	}
	m.reg.MustRegister(vec, m.attempt, m.delivery, m.commit, m.group, m.released, metrics.Collector(s.collect))
	if n := s.cfg.MetricsEndpoints; n > 0 {
		m.byEP = &endpointAttempts{max: n, seen: map[string]struct{}{}, vec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookrig_sender_endpoint_attempts_total",
			Help: "Attempts by endpoint id and outcome (as hookrig_sender_attempts_total), for the first endpoints attempted up to the cap; the rest as endpoint \"other\".",
		}, []string{"endpoint", "outcome"})}
		m.reg.MustRegister(m.byEP.vec)
	}
	return m
}

// outcomeIndex places an attempt in attemptOutcomes.
func outcomeIndex(status int, err delivery.ErrKind) int {
	switch err {
	case delivery.ErrNone:
	case delivery.ErrTimeout:
		return 6
	case delivery.ErrReset:
		return 7
	case delivery.ErrRefused:
		return 8
	case delivery.ErrEOF:
		return 9
	case delivery.ErrInterrupted:
		return 11
	default:
		return 10
	}
	switch status / 100 {
	case 2:
		return 0
	case 1:
		return 1
	case 3:
		return 2
	case 4:
		return 3
	case 5:
		return 4
	}
	return 5
}

// attempted observes a durable attempt of an event whose delivery clock
// to endpoint started at since (its acceptance or replay). nil-safe.
func (m *senderMetrics) attempted(endpoint string, since time.Time, a *attemptRecord, dec delivery.DecisionKind) {
	if m == nil {
		return
	}
	o := outcomeIndex(int(a.Status), delivery.ErrKind(a.Err))
	m.attempts[o].Inc()
	if m.byEP != nil {
		m.byEP.add(endpoint, attemptOutcomes[o])
	}
	m.attempt.Observe(time.Duration(a.Duration).Seconds())
	if dec == delivery.Delivered && !since.IsZero() {
		end := fromUnixNano(a.At).Add(time.Duration(a.Duration))
		m.delivery.Observe(max(end.Sub(since), 0).Seconds())
	}
}

// pagesReleased counts the outbox's free pages dropped from memory. nil-safe.
func (m *senderMetrics) pagesReleased(n int) {
	if m != nil {
		m.released.Add(float64(n))
	}
}

// interrupted counts the attempts recovery found cut off by a crash.
func (m *senderMetrics) interrupted(n int) { m.attempts[11].Add(float64(n)) }

// commitStart reads the clock before a commit (zero when m is nil).
func (m *senderMetrics) commitStart() time.Time {
	if m == nil {
		return time.Time{}
	}
	return m.clock.Now()
}

// committed observes a commit of n changes begun at start.
func (m *senderMetrics) committed(n int, start time.Time) {
	if m == nil {
		return
	}
	m.commit.Observe(m.clock.Now().Sub(start).Seconds())
	m.group.Observe(float64(n))
}

// collect turns Stats (and the outbox's write count) into metrics at
// scrape time.
func (s *Sender) collect(ch chan<- prometheus.Metric) {
	st := s.Stats()
	c := s.store.counters()
	ch <- metrics.Counter(descAccepted, st.Accepted)
	ch <- metrics.Counter(descDelivered, st.Delivered)
	ch <- metrics.Counter(descDeadLettered, st.DeadLettered)
	ch <- metrics.Counter(descReplayed, st.Replayed)
	ch <- metrics.Counter(descRemoved, st.Removed)
	ch <- metrics.Gauge(descPending, float64(st.Pending))
	ch <- metrics.Gauge(descInFlight, float64(st.InFlight))
	ch <- metrics.Gauge(descWaiting, float64(st.Waiting))
	ch <- metrics.Gauge(descEndpoints, float64(st.Endpoints))
	ch <- metrics.Gauge(descDisabled, float64(st.DisabledEndpoints))
	ch <- metrics.Gauge(descBreakers, float64(st.OpenBreakers))
	ch <- metrics.Counter(descCommits, c.Commits)
	ch <- metrics.Counter(descWrites, c.Grouped)
}

// Metrics is the sender's registry, for a process that serves several
// components' metrics on one listener (hookrig run --metrics).
func (s *Sender) Metrics() prometheus.Gatherer { return s.metrics.reg }

func (s *Sender) metricsHandler() http.Handler { return metrics.Handler(s.metrics.reg) }
