// Package hookrigtest puts hookrig in a Go test, as net/http/httptest
// puts an HTTP server in one: every helper takes the test's testing.TB,
// listens on 127.0.0.1, fails the test when it cannot do its job and
// stops what it started with t.Cleanup.
//
//   - NewReceiver: hookrig's reference receiver, to point the sender
//     under test at and wait for what it received.
//   - NewProxy: the chaos proxy in front of any URL, with fault rules.
//   - NewSender: hookrig's reference sender, to deliver events to the
//     endpoint under test.
//   - Run: a whole scenario (a built-in or a file), live, against the
//     endpoint under test (an http.Handler or a URL); the test fails
//     with the report's failed assertions.
//
// It holds no logic of its own: each helper is the component the
// command line runs (hookrig receiver, chaos, sender, run) with its
// configuration given as Go values instead of flags, so what passes here
// passes there.
package hookrigtest
