// Package docscheck has no code: its tests keep README.md and docs/ true
// to the repository they describe. The README stays a short guide (a size
// bound), every relative link and #anchor in the Markdown resolves, every
// page under docs/ can be reached from the README, every `go test`
// command the docs give names a package and a test, benchmark or fuzz
// target that exist, and docs/fuzzing.md lists exactly the fuzz targets
// the code has.
//
// The tables generated from code are checked next to the code that
// generates them, where their -update flags live: the assertion variables
// in scenarios (docs/scenario-format.md), the sweep metrics in sim
// (docs/result-schema.md), each subcommand's flags in cmd/hookrig
// (docs/cli/*.md), and the fault catalogue in chaos (docs/faults.md,
// generated there once that branch lands).
package docscheck
