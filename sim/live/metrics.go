package live

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// gather is Options.Metrics's gatherer: the Prometheus metrics of the
// reference components the run started (the user's own ends have none
// here), read at each scrape. The sender is the one up now: a crash
// (sender.crashes) restarts it with a fresh registry, whose durable
// counts carry on from the outbox; while it is down it has none.
func (l *live) gather() ([]*dto.MetricFamily, error) {
	var g prometheus.Gatherers
	// A fleet's receivers (one per group) share metric names and labels,
	// which one gatherer cannot hold twice: only a single one is served.
	if rcvs := l.receivers(); len(rcvs) == 1 {
		g = append(g, rcvs[0].Metrics())
	}
	if l.proxy != nil {
		g = append(g, l.proxy.Metrics())
	}
	if h := l.host; h != nil {
		h.mu.Lock()
		if h.s != nil && !h.down && !h.closed {
			g = append(g, h.s.Metrics())
		}
		h.mu.Unlock()
	}
	return g.Gather()
}
