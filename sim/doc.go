// Package sim runs scenarios. It composes the parts that each do one
// job: sim/plan turns a scenario into rules, windows and a pacer;
// sim/live runs it on real sockets and sim/virtual in virtual time; both
// feed sim/verdict's checker, and this package judges the scenario's
// assertions on the Result. On top it runs studies over runs: Sweep (one
// scenario under many seeds), Vary (a sweep per value of one setting) and
// Compare (a live and a virtual run side by side).
//
// It writes no command lines: a Result's and a sweep's replay commands
// are the CLI's to fill in, from the flags it was given.
package sim
