package live

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"

	"github.com/hookrig/hookrig/chaos/fault"
	"github.com/hookrig/hookrig/internal/httpapi"
	"github.com/hookrig/hookrig/loadgen"
	"github.com/hookrig/hookrig/reference/receiver"
	"github.com/hookrig/hookrig/reference/sender"
	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim/plan"
	"github.com/hookrig/hookrig/sim/verdict"
)

// This file runs a scenario's fleet (`endpoints:`) live:
//
//	loadgen ──▶ sender ──▶ chaos proxy ──▶ fleet receiver
//	            one endpoint     /fleet/GROUP/N/…   one reference receiver
//	            per member       rules by group     per group, by path
//
// The sender gets one endpoint per fleet member, each delivering to the
// proxy under the member's path (plan.Endpoint.Path), from which the
// proxy's rules read endpoint.name and endpoint.group. Behind the proxy one
// HTTP server routes each path to its group's reference receiver (each
// group its own processing, dedupe window and rate limit, the limit kept
// per endpoint path), or, when every group names a receiver.url template,
// the proxy strips the prefix and forwards to the user's endpoints on
// their one host. The load generator posts event k to the endpoint
// plan.Fleet.Assign(k) names, as the virtual model does.

// fleetLive is a live run's fleet.
type fleetLive struct {
	plan *plan.Fleet
	// ids are the sender's endpoint ids, by fleet index; member finds the
	// fleet endpoint of a sender id.
	ids    []string
	member map[string]plan.Endpoint
	// user says the groups are the user's endpoints (receiver.url
	// templates): the proxy strips the fleet prefix.
	user bool
	rcvs []*receiver.Receiver // the reference receivers, one per group
}

// newFleet plans s's fleet for a live run; nil without `endpoints:`.
func newFleet(s *scenarios.Scenario, opts Options) (*fleetLive, error) {
	p := plan.NewFleet(s)
	if p == nil {
		return nil, nil
	}
	switch {
	case opts.ReceiverURL != "":
		return nil, errors.New("--receiver names one endpoint; a fleet (endpoints:) names its groups' own, as receiver.url templates with {{.N}}")
	case opts.ReceiptsURL != "":
		return nil, errors.New("a receipts URL reads one endpoint's journal; a fleet (endpoints:) has many: what the proxy saw them answer is their receipts")
	case opts.Trigger != nil || s.Sender.Trigger != nil:
		return nil, errors.New("a fleet (endpoints:) needs hookrig's reference sender, which registers one endpoint per fleet member; a trigger drives your own sender")
	}
	f := &fleetLive{plan: p, member: make(map[string]plan.Endpoint, p.Len())}
	users := 0
	for _, g := range s.Endpoints.Groups {
		if g.Receiver.URL != "" {
			users++
		}
	}
	if users > 0 && users < len(s.Endpoints.Groups) {
		return nil, errors.New("a live fleet has one chaos proxy in front of one upstream: either every group uses hookrig's reference receiver or every group names a receiver.url (on one host)")
	}
	f.user = users > 0
	return f, nil
}

// userOrigin is the scheme://host of the user's endpoints (one for the
// whole fleet, as scenarios checks).
func (f *fleetLive) userOrigin(s *scenarios.Scenario) (string, error) {
	raw, err := s.Endpoints.Groups[0].EndpointURL(1)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	return u.Scheme + "://" + u.Host, nil
}

// startFleetReceiver starts one reference receiver per group behind one
// server that routes by path, and returns it as the proxy's upstream.
func (l *live) startFleetReceiver() (string, error) {
	if l.fleet.user {
		return l.fleet.userOrigin(l.s)
	}
	byGroup := map[string]http.Handler{}
	for _, g := range l.s.Endpoints.Groups {
		cfg := l.receiverConfig(g.Receiver)
		if rl := g.RateLimit; rl != nil {
			cfg.RateLimit = receiver.RateLimitConfig{PerSecond: rl.PerSecond, Burst: rl.Burst, RetryAfter: rl.RetryAfter}
		}
		if l.opts.Keep {
			cfg.JournalPath = filepath.Join(l.dir, "receipts-"+g.Name+".jsonl")
		}
		rcv, err := receiver.New(cfg)
		if err != nil {
			return "", fmt.Errorf("receiver of group %s: %w", g.Name, err)
		}
		l.fleet.rcvs = append(l.fleet.rcvs, rcv)
		byGroup[g.Name] = rcv.Handler()
	}
	ln, err := httpapi.Listen("127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("receiver: %w", err)
	}
	l.rcvSrv = serveOn(ln, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, group := fault.FleetEndpoint(req.URL.Path)
		h, ok := byGroup[group]
		if !ok {
			httpapi.WriteError(w, httpapi.Errorf(http.StatusNotFound, "no fleet endpoint at %s: fleet endpoints are at /fleet/GROUP/N/", req.URL.Path))
			return
		}
		h.ServeHTTP(w, req)
	}))
	return l.rcvSrv.URL(), nil
}

// fleetPath is where on the proxy the sender delivers to endpoint e: its
// fleet prefix, then the reference receiver's /webhooks or the path of
// the user's URL for it.
func (l *live) fleetPath(e plan.Endpoint) (string, error) {
	if !l.fleet.user {
		return e.Path() + "/webhooks", nil
	}
	raw, err := l.s.Endpoints.Groups[e.GroupIndex].EndpointURL(e.N)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	return e.Path() + u.EscapedPath(), nil
}

// createFleetEndpoints registers one sender endpoint per fleet member.
func (l *live) createFleetEndpoints(spec sender.EndpointSpec) error {
	f := l.fleet
	f.ids = make([]string, f.plan.Len())
	for i := range f.plan.Len() {
		e := f.plan.At(i)
		path, err := l.fleetPath(e)
		if err != nil {
			return fmt.Errorf("endpoint %s: %w", e.Name(), err)
		}
		spec.URL = l.proxy.URL() + path
		ep, err := l.host.createEndpoint(spec)
		if err != nil {
			return fmt.Errorf("sender: endpoint %s (%s): %w", e.Name(), spec.URL, err)
		}
		f.ids[i] = ep.ID
		f.member[ep.ID] = e
	}
	return nil
}

// fleetTarget posts each event to the sender endpoint of the fleet member
// plan.Fleet.Assign gives it.
func (l *live) fleetTarget() loadgen.Target {
	f := l.fleet
	return loadgen.Target{URL: l.ingestURL(), Ingest: f.ids[0], Fleet: f.ids,
		Route: func(seq uint64) int { return f.plan.Assign(seq).Index }}
}

// place names the fleet endpoint and group of an event the sender holds
// for its endpoint id.
func (f *fleetLive) place(a *verdict.Accepted, endpointID string) {
	if f == nil {
		return
	}
	if e, ok := f.member[endpointID]; ok {
		a.Endpoint, a.Group = e.Name(), e.Group
	}
}

// groupInfo is the fleet's groups for the checker.
func groupInfo(s *scenarios.Scenario) []verdict.GroupInfo {
	var out []verdict.GroupInfo
	for _, g := range s.Endpoints.Groups {
		out = append(out, verdict.GroupInfo{Name: g.Name, Endpoints: g.Count, Sick: g.Sick()})
	}
	return out
}

// receivers are the reference receivers the run started.
func (l *live) receivers() []*receiver.Receiver {
	if l.fleet != nil {
		return l.fleet.rcvs
	}
	if l.rcv != nil {
		return []*receiver.Receiver{l.rcv}
	}
	return l.rcvs // the instances (instances.go), or none
}
