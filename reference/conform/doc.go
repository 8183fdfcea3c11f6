// Package conform grades a user's webhook receiver (and, later, sender)
// against the Standard Webhooks specification, rule by rule, the way the
// reference implementations behave: each check has a stable id, a level
// (MUST or SHOULD, from the spec's wording), the spec section it comes
// from, a status and one line of evidence.
//
// For a receiver, hookrig plays the sender: it sends crafted webhooks
// (valid, forged, stale, redelivered, large, ...) to the user's URL and
// grades the answers. Receiver returns a verdict.Conformance that
// sim/report renders (text, JSON, JUnit, HTML), so a Go service can run
// the checks from `go test` against an httptest server:
//
//	rep, err := conform.Receiver(ctx, srv.URL, conform.ReceiverOptions{
//		Secret: "whsec_...", Clock: clock.Real{},
//	})
//	if err != nil || !rep.Passed { ... }
//
// testdata/vectors.json holds signing and verification test vectors any
// language's Standard Webhooks library can run (docs/cli/conform.md).
//
// The package reads no flags, environment or terminal; time comes from
// the clock in the options (it must tell real time: the receiver checks
// timestamps against its own clock).
package conform
