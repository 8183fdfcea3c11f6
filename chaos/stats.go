package chaos

import (
	"strconv"
	"sync/atomic"

	"github.com/hookrig/hookrig/chaos/fault"
)

// Stats counts what the proxy did since it started (or was reset).
type Stats struct {
	Requests       uint64 `json:"requests"`
	Forwarded      uint64 `json:"forwarded"` // requests sent upstream, duplicate copies included
	UpstreamErrors uint64 `json:"upstream_errors"`
	Injected       uint64 `json:"injected"`
	// Outcomes counts what clients saw: "200", "503", "reset",
	// "no_answer", "truncated", ...
	Outcomes map[string]uint64 `json:"outcomes"`
	Rules    []RuleStats       `json:"rules"`
	// Down says whether the listener is refusing connections right now.
	Down    bool           `json:"down"`
	Elapsed fault.Duration `json:"elapsed"`
}

// RuleStats counts one rule's work. Counts survive rule replacement for
// rules that keep their name.
type RuleStats struct {
	Name  string `json:"name"`
	Fault string `json:"fault"`
	// Matched counts requests for which the rule was active and its match
	// true; Injected those for which it also won the roll and faulted.
	Matched  uint64 `json:"matched"`
	Injected uint64 `json:"injected"`
	// MatchErrors counts matches that failed at run time (and so did not
	// match), e.g. body.amount > 3 on a string amount.
	MatchErrors uint64            `json:"match_errors"`
	Outcomes    map[string]uint64 `json:"outcomes"`
}

// clientErrs are the ClientErr words, in the order outcomeCounts keeps
// them.
var clientErrs = [...]string{"reset", "no_answer", "truncated", "client_gone", "shutdown", "other"}

// outcomeCounts counts outcomes without a lock on the data path.
type outcomeCounts struct {
	status [600]atomic.Uint64
	errs   [len(clientErrs)]atomic.Uint64
}

func (o *outcomeCounts) add(r *AttemptRecord) {
	if r.ClientErr != "" {
		for i, e := range clientErrs {
			if e == r.ClientErr {
				o.errs[i].Add(1)
				return
			}
		}
		o.errs[len(clientErrs)-1].Add(1)
		return
	}
	if r.ClientStatus >= 0 && r.ClientStatus < len(o.status) {
		o.status[r.ClientStatus].Add(1)
	}
}

func (o *outcomeCounts) snapshot() map[string]uint64 {
	m := map[string]uint64{}
	for code := range o.status {
		if n := o.status[code].Load(); n > 0 {
			m[statusText(code)] = n
		}
	}
	for i, e := range clientErrs {
		if n := o.errs[i].Load(); n > 0 {
			m[e] = n
		}
	}
	return m
}

func statusText(code int) string { return strconv.Itoa(code) }

// totals are the proxy-wide counters; reset swaps in a fresh set.
type totals struct {
	requests, forwarded, upstreamErrors, injected atomic.Uint64
	outcomes                                      outcomeCounts
}

// ruleCounters are one rule's counters, carried across rule replacement by
// name.
type ruleCounters struct {
	matched, injected, matchErrors atomic.Uint64
	outcomes                       outcomeCounts
}
