// Package report renders a verdict.Result for people and machines: text for a
// terminal, the versioned JSON schema, JUnit XML for CI and one
// self-contained HTML page with charts. It only presents: every number it
// shows was worked out by the checker (or is read straight off the
// Result's histograms). It imports only sim/verdict of hookrig's own
// packages, so rendering a saved result links no runner (no bbolt,
// fasthttp or mpb): a rule internal/layout's test enforces.
package report
