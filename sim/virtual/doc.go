// Package virtual runs a scenario in virtual time: a discrete-event
// kernel on one goroutine, with no wall clock, drives the same delivery
// policy as the reference sender and the same fault choice as the chaos
// proxy, with the network, the outbox's disk and the receiver modelled
// (Model). A day of retries takes seconds, and the same scenario and seed
// give the same Result, byte for byte in JSON.
//
// Its files must stay pure (no wall clock, no sleeping, no global random
// source, no goroutines): TestNoWallClockOrGlobalRandomness reads them.
//
// Run returns the Result unjudged: sim.RunVirtual evaluates the
// scenario's assertions on it.
package virtual
