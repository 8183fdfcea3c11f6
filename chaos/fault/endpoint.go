package fault

import (
	"strconv"
	"strings"
)

// A fleet (a scenario's `endpoints:`) puts many endpoints behind one chaos
// proxy. The proxy learns which endpoint a request is for from its path:
// every fleet endpoint's URL on the proxy starts with
//
//	/fleet/GROUP/N/…
//
// (FleetPath), so a rule can match `endpoint.group == "sick"` or
// `endpoint.name == "sick-3"` with nothing but the request line, whichever
// sender sent it. The proxy forwards the path as it is (the prefix stays):
// the reference receiver serves every endpoint under its prefix, and sim
// runs a user's URL template behind its own prefix (sim/live). A request
// outside /fleet/ belongs to no fleet endpoint: both names are "".

// FleetPrefix starts the path of every fleet endpoint on the proxy.
const FleetPrefix = "/fleet/"

// FleetPath is the path prefix of a fleet group's n-th endpoint (1-based),
// without a trailing slash: "/fleet/sick/3".
func FleetPath(group string, n int) string {
	return FleetPrefix + group + "/" + strconv.Itoa(n)
}

// FleetEndpoint reads the endpoint a path is for: its group, and its name
// GROUP-N; both "" when the path is not under FleetPrefix or N is not a
// positive whole number.
func FleetEndpoint(path string) (name, group string) {
	group, n, _, ok := fleetParts(path)
	if !ok {
		return "", ""
	}
	return group + "-" + n, group
}

// FleetRest is a fleet endpoint's path without its /fleet/GROUP/N prefix
// ("/" when nothing follows), for a proxy in front of endpoints that
// know nothing of fleets; false for a path outside a fleet.
func FleetRest(path string) (string, bool) {
	_, _, rest, ok := fleetParts(path)
	return "/" + rest, ok
}

// fleetParts splits /fleet/GROUP/N/REST; ok is false when the path is
// not under FleetPrefix or N is not a positive whole number.
func fleetParts(path string) (group, n, rest string, ok bool) {
	rest, ok = strings.CutPrefix(path, FleetPrefix)
	if !ok {
		return "", "", "", false
	}
	group, rest, ok = strings.Cut(rest, "/")
	if !ok || group == "" {
		return "", "", "", false
	}
	n, rest, _ = strings.Cut(rest, "/")
	if len(n) == 0 || n[0] == '0' || strings.TrimLeft(n, "0123456789") != "" {
		return "", "", "", false
	}
	return group, n, rest, true
}
