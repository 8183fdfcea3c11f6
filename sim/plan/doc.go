// Package plan turns a scenario into what both runners execute: the chaos
// rules with their windows clipped to the load, the phase and fault
// windows of the report's timeline, the load pacer and the event ids. The
// live runner (sim/live) and the virtual world (sim/virtual) both take
// their timeline from here, so they cannot disagree about it.
package plan
