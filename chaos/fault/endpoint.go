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
	rest, ok := strings.CutPrefix(path, FleetPrefix)
	if !ok {
		return "", ""
	}
	group, rest, ok = strings.Cut(rest, "/")
	if !ok || group == "" {
		return "", ""
	}
	n, _, _ := strings.Cut(rest, "/")
	if len(n) == 0 || n[0] == '0' || strings.TrimLeft(n, "0123456789") != "" {
		return "", ""
	}
	return group + "-" + n, group
}
