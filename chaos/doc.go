// Package chaos is hookrig's HTTP chaos proxy: a reverse proxy that sits
// between a webhook sender and a receiver and breaks deliveries on purpose,
// per request, by rule, on a timeline, from a seeded source.
//
// The package has two halves joined by one plain-data type, Action:
//
//   - Choosing. Rules (compiled once from RuleSpecs, YAML or JSON) pick a
//     Fault for a Request at an elapsed time with a random draw:
//     (*Rules).Choose is a pure function, and Fault.Plan turns the fault into
//     an Action with every random number already drawn. The virtual-time
//     simulator calls exactly these, so a scenario faults the same way live
//     and virtual.
//   - Carrying out. The Proxy reads each request, calls Choose and Plan, and
//     executes the Action on real sockets: hold, forward (once or several
//     times), answer with the upstream's response or its own, slowly or cut
//     short, or reset/refuse/ignore the connection. The data path has no
//     fault-specific code; adding a fault is adding one file that registers
//     a type and plans Actions.
//
// Draws are reproducible: RequestRand derives each request's source from
// the proxy seed and the request's webhook-id and webhook-attempt (or its
// arrival number when those are absent), so the choice never depends on
// goroutine scheduling.
//
// Rule order matters: the first rule whose window is open, whose match is
// true and whose probability roll succeeds wins; later rules are not
// consulted for that request.
package chaos
