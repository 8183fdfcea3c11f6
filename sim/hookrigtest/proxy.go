package hookrigtest

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/hookrig/hookrig/chaos"
	"github.com/hookrig/hookrig/chaos/fault"
)

// Proxy is the chaos proxy on 127.0.0.1 for one test (hookrig chaos): a
// reverse proxy to one upstream that breaks requests by rule.
type Proxy struct {
	// URL is the upstream's URL through the proxy: the proxy's address
	// with the upstream's path, so a sender pointed at URL reaches the
	// same path on the upstream.
	URL string

	t testing.TB
	p *chaos.Proxy
}

// NewProxy starts a chaos proxy in front of upstream (an http:// URL)
// with rules in force, and stops it at the end of the test. Each rule is
// one rule object in YAML or JSON, as POST /v1/rules takes it and a rules
// file lists them (docs/faults.md), e.g.
//
//	{name: first-fails, match: attempt == 1, fault: {type: status, code: 503}}
func NewProxy(t testing.TB, upstream string, rules ...string) *Proxy {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		t.Fatalf("hookrigtest: proxy: upstream %q: expected an http:// or https:// URL", upstream)
	}
	specs, err := parseRules(rules)
	if err != nil {
		t.Fatalf("hookrigtest: proxy: %v", err)
	}
	rs, err := fault.Compile(specs)
	if err != nil {
		t.Fatalf("hookrigtest: proxy: %v", err)
	}
	p, err := chaos.New(chaos.Config{Upstream: u.Scheme + "://" + u.Host, Rules: rs})
	if err != nil {
		t.Fatalf("hookrigtest: proxy: %v", err)
	}
	if err := p.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("hookrigtest: proxy: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	path := u.EscapedPath()
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	return &Proxy{URL: p.URL() + path, t: t, p: p}
}

func parseRules(rules []string) ([]fault.RuleSpec, error) {
	specs := make([]fault.RuleSpec, 0, len(rules))
	for i, text := range rules {
		s, err := fault.ParseRule([]byte(text), fmt.Sprintf("rule %d", i+1))
		if err != nil {
			return nil, err
		}
		specs = append(specs, s)
	}
	return specs, nil
}

// SetRules replaces the rules in force (none: no faults), as PUT
// /v1/rules does. A rule that does not parse or compile fails the test
// and leaves the rules as they were.
func (p *Proxy) SetRules(rules ...string) {
	p.t.Helper()
	specs, err := parseRules(rules)
	if err == nil {
		err = p.p.ReplaceRules(specs)
	}
	if err != nil {
		p.t.Fatalf("hookrigtest: proxy: %v", err)
	}
}

// Stats returns the proxy's counters (GET /v1/stats): requests,
// faults injected, outcomes, per rule.
func (p *Proxy) Stats() chaos.Stats { return p.p.Stats() }

// Attempts returns what the proxy saw of each request it kept (the last
// 10,000), oldest first (GET /v1/attempts).
func (p *Proxy) Attempts() []chaos.AttemptRecord { return p.p.Attempts(0) }
