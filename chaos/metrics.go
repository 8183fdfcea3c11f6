package chaos

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookrig/hookrig/internal/metrics"
)

// The proxy's Prometheus metrics, served on the control listener (GET
// /metrics), never on the proxied port: there every path is the
// upstream's. Counters are Stats read at scrape time; the histograms are
// observed as each attempt record is filed, from durations the record
// already holds (no extra clock read on the data path).
var (
	descRequests = metrics.Desc("hookrig_chaos_requests_total", `Requests by the rule that faulted them and its fault type; rule="" fault="none" for those no rule faulted. `+
		"A rule's series goes when the rule is deleted; POST /v1/reset zeroes them all (a counter reset).", "rule", "fault")
	descMatched        = metrics.Desc("hookrig_chaos_rule_matched_total", "Requests a rule was active for and matched (it faults those that also win its roll).", "rule")
	descMatchErrors    = metrics.Desc("hookrig_chaos_rule_match_errors_total", "Matches that failed at run time (and so did not match).", "rule")
	descResponses      = metrics.Desc("hookrig_chaos_responses_total", `What clients got: the status ("200", "503") or what they got instead (reset, no_answer, truncated, client_gone, shutdown, other).`, "outcome")
	descForwarded      = metrics.Desc("hookrig_chaos_forwarded_total", "Requests sent upstream, duplicate copies included.")
	descUpstreamErrors = metrics.Desc("hookrig_chaos_upstream_errors_total", "Upstream round trips that failed without an HTTP answer.")
	descDown           = metrics.Desc("hookrig_chaos_down", "1 while a down window has the listener refusing connections.")
	descRules          = metrics.Desc("hookrig_chaos_rules", "Rules in force.")
)

// proxyMetrics is one proxy's registry and the figures observed as
// requests finish or rules change.
type proxyMetrics struct {
	reg      *prometheus.Registry
	upstream prometheus.Histogram
	added    prometheus.Histogram
	reloads  prometheus.Counter
	refusals prometheus.Counter
}

func newMetrics(p *Proxy) *proxyMetrics {
	m := &proxyMetrics{
		reg: prometheus.NewRegistry(),
		upstream: metrics.Histogram("hookrig_chaos_upstream_seconds",
			"The upstream's round trip for a forwarded request (its first copy)."),
		added: metrics.Histogram("hookrig_chaos_added_seconds",
			"Time the proxy added to a request beyond the upstream's round trip: injected holds, delays, "+
				"silences and slow bodies (a request no rule faulted shows the proxy's own overhead)."),
		reloads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookrig_chaos_rule_reloads_total",
			Help: "Rule changes put in force (replace, add, delete).",
		}),
		refusals: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookrig_chaos_rule_refusals_total",
			Help: "Rule changes refused (a bad rule, a duplicate or missing name): the rules in force stayed.",
		}),
	}
	m.reg.MustRegister(m.upstream, m.added, m.reloads, m.refusals, metrics.Collector(p.collect))
	return m
}

// observe files a finished request's durations. nil-safe, so an attempt
// log built without a proxy (tests) needs none.
func (m *proxyMetrics) observe(rec *AttemptRecord) {
	if m == nil {
		return
	}
	added := rec.Duration
	if rec.Forwarded > 0 {
		m.upstream.Observe(rec.UpstreamDuration.Seconds())
		added -= rec.UpstreamDuration
	}
	m.added.Observe(max(added, 0).Seconds())
}

// ruleChange counts a rule change: put in force (err nil) or refused.
func (m *proxyMetrics) ruleChange(err error) {
	if err != nil {
		m.refusals.Inc()
		return
	}
	m.reloads.Inc()
}

// collect turns Stats into metrics at scrape time.
func (p *Proxy) collect(ch chan<- prometheus.Metric) {
	s := p.Stats()
	ch <- metrics.Counter(descRequests, s.Requests-min(s.Injected, s.Requests), "", "none")
	for _, r := range s.Rules {
		ch <- metrics.Counter(descRequests, r.Injected, r.Name, r.Fault)
		ch <- metrics.Counter(descMatched, r.Matched, r.Name)
		ch <- metrics.Counter(descMatchErrors, r.MatchErrors, r.Name)
	}
	for outcome, n := range s.Outcomes {
		ch <- metrics.Counter(descResponses, n, outcome)
	}
	ch <- metrics.Counter(descForwarded, s.Forwarded)
	ch <- metrics.Counter(descUpstreamErrors, s.UpstreamErrors)
	ch <- metrics.Bool(descDown, s.Down)
	ch <- metrics.Gauge(descRules, float64(len(s.Rules)))
}

// Metrics is the proxy's registry, for a process that serves several
// components' metrics on one listener (hookrig run --metrics).
func (p *Proxy) Metrics() prometheus.Gatherer { return p.metrics.reg }

func (p *Proxy) handleMetrics() http.Handler { return metrics.Handler(p.metrics.reg) }
