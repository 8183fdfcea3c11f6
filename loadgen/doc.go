// Package loadgen drives load: into the reference sender's ingest API during
// a scenario, or straight at a webhook endpoint to benchmark it (hookrig
// bench).
//
// The parts, each usable alone:
//
//   - Pacer: when requests are due, a pure function of elapsed time and hits
//     (constant, linear, steps, sine, poisson, burst; Sequence of phases;
//     Shard of a schedule). ParsePacer reads the CLI's mini-language;
//     Arrivals replays a pacer's intended send times without a clock, for
//     the virtual-time simulator.
//   - Payload: webhook-shaped bodies from a text/template (compiled to
//     literal text and slots, so rendering allocates nothing) or a file.
//   - Runner: an open loop (paced; latency measured from each request's
//     intended send time, so a stalled target cannot hide coordinated
//     omission) or a closed loop (fixed concurrency, maximum throughput),
//     signing with reference/webhook, reporting each request to OnSent.
//   - Result: HDR histograms (1 µs to 60 s, 3 significant figures),
//     corrected and uncorrected and per status class, in flat memory;
//     JSON that merges exactly across shards (Merge), .hgrm, a text report.
//
// Library code reads no flags, environment or terminal; time comes from the
// clock.Clock in Config, so a fake clock drives the scheduler in tests.
package loadgen
