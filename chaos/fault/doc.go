// Package fault is the chaos proxy's decision, with no I/O: the fault
// catalogue (one file per fault, registered by name, as toxiproxy keeps
// its toxics), the rules that choose a fault (match expressions in
// expr-lang, probabilities, windows on the run's timeline), rule files,
// and the Decider that the live proxy and the virtual-time simulator both
// call.
//
// Rules (compiled once from RuleSpecs, YAML or JSON) pick a Fault for a
// Request at an elapsed time with a random draw; Fault.Plan turns the
// fault into an Action, plain data with every random number already
// drawn, that says what happens on the wire. (*Decider).Act does both
// without allocating.
//
// Draws are reproducible: RequestRand derives each request's source from
// the seed and the request's webhook-id and webhook-attempt (or its
// arrival number when those are absent), so the choice never depends on
// goroutine scheduling.
//
// Rule order matters: the first rule whose window is open, whose match is
// true and whose probability roll succeeds wins; later rules are not
// consulted for that request.
//
// The package reads no clock, starts no goroutine, draws from no global
// source and links no networking code; purity_test.go holds it to that.
// A match runs on every request, so it is compiled within a budget (see
// budget.go and docs/faults.md).
package fault
