//go:build race

package virtual_test

// raceEnabled says the race detector is on: tests that would take minutes
// under it step aside.
const raceEnabled = true
