// Package chaos is hookrig's HTTP chaos proxy: a reverse proxy that sits
// between a webhook sender and a receiver and breaks deliveries on purpose,
// per request, by rule, on a timeline, from a seeded source.
//
// The package is the data path: the HTTP/1.1 server on fasthttp, the
// listener that goes down for a down window, the upstream client and its
// watchdog, the control API, the attempt log and the stats. What to do to
// a request is decided elsewhere, in the pure package chaos/fault (the
// fault catalogue, rules, match expressions, windows and the Decider), so
// that the virtual-time simulator decides exactly as the proxy does.
//
// For each request the proxy reads it, asks a pooled fault.Decider for
// the fault.Action (Proxy.decide), and carries the Action out on real
// sockets (Proxy.carryOut): hold, forward (once or several times), answer
// with the upstream's response or its own, slowly or cut short, or
// reset/refuse/ignore the connection. The data path has no fault-specific
// code; adding a fault is adding one file to chaos/fault.
package chaos
