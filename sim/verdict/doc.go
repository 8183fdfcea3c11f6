// Package verdict decides what a run guaranteed. It owns the checker's
// inputs (Accepted, AttemptRec, ReceiptRec, Final, RunInfo), the Checker
// that joins them after the drain, and the Result with its versioned JSON
// schema (hookrig.result/v1), its timeline, and Merge for shards.
//
// It knows nothing of how a run was executed: the live runner converts
// what the sender, proxy, receiver and load generator recorded into these
// plain records, and the virtual world emits them directly. So a harness
// of your own can feed it, and rendering a saved result (sim/report) links
// neither a runner nor their dependencies (bbolt, fasthttp).
package verdict
