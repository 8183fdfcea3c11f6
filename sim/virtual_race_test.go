//go:build race

package sim_test

// raceEnabled says the race detector is on: tests that would take minutes
// under it step aside.
const raceEnabled = true
