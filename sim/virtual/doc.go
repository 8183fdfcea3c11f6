// Package virtual runs a scenario in virtual time: a discrete-event
// kernel on one goroutine, with no wall clock, drives the same delivery
// policy as the reference sender and the same fault choice as the chaos
// proxy, with the network, the outbox's disk and the receiver modelled
// (Model). A day of retries takes seconds, and the same scenario and seed
// give the same Result, byte for byte in JSON.
//
// Its files must stay pure (no wall clock, no sleeping, no global random
// source, no goroutines): TestNoWallClockOrGlobalRandomness reads them.
// Two jobs that need no answer from the run go on goroutines of their
// own, outside this package, each in order: the arrivals of the load
// (plan.Arrivals, worked out ahead) and the checker (verdict.Pipe, fed as
// the run goes), so a run takes two cores and gives the same Result. The
// loop reads the checker only after the Pipe's Sync or Close, and nothing
// it does depends on where those goroutines run: TestSameResultOnOneCore
// compares runs.
//
// Run returns the Result unjudged: sim.RunVirtual evaluates the
// scenario's assertions on it.
package virtual
