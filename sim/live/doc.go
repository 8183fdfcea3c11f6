// Package live runs a scenario on real sockets: the load generator, the
// reference sender (or the user's, through a trigger), the chaos proxy
// with the scenario's fault timeline and the reference receiver (or the
// user's endpoint), all on 127.0.0.1 in this process, with a real outbox
// on disk and the wall clock (or the clock it is given).
//
// It decides nothing a pure core decides: the timeline comes from
// sim/plan, retries from the sender's policy, faults from the proxy's
// rules. Its own job is the topology, the phases and the drain, and
// reading back what every component recorded (the sender's attempts and
// final states, the proxy's attempt log, the receiver's journal) into
// sim/verdict's plain records for the checker.
//
// Run returns the Result unjudged: sim.Run evaluates the scenario's
// assertions on it.
package live
