// Package layout holds no code: its test enforces the module's import
// rules (ARCHITECTURE.md's "must not" column), which belong to no one
// package. It runs `go list` over the packages named in its table.
package layout
