package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/hookrig/hookrig/sim/verdict"
)

// RenderConformance writes a `hookrig conform` report in format f.
func RenderConformance(w io.Writer, c *verdict.Conformance, f Format) error {
	switch f {
	case Text:
		return WriteConformText(w, c)
	case JSON:
		return writeIndented(w, c, "conformance report")
	case JUnit:
		return WriteConformJUnit(w, c)
	case HTML:
		return WriteConformHTML(w, c)
	}
	_, err := ParseFormat(string(f))
	return err
}

// statusWord is how the text and HTML reports write a check's status.
func statusWord(s verdict.CheckStatus) string { return strings.ToUpper(string(s)) }

// conformVerdict is the report's first line: what was graded and how it
// went, in words.
func conformVerdict(c *verdict.Conformance) string {
	head := "CONFORMS"
	if !c.Passed {
		head = "DOES NOT CONFORM"
	}
	return fmt.Sprintf("%s: %s %s — %d passed, %d failed, %d warnings, %d skipped",
		head, c.Target, c.URL, c.Count(verdict.CheckPass), c.Count(verdict.CheckFail),
		c.Count(verdict.CheckWarn), c.Count(verdict.CheckSkip))
}

// WriteConformText writes the graded table: one line per check (id, level,
// status, evidence, spec section), the failed MUST checks first in the
// verdict line's count, in the order the checks ran.
func WriteConformText(w io.Writer, c *verdict.Conformance) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "hookrig conform %s (Standard Webhooks)\n%s\n\n", c.Target, conformVerdict(c))
	idW := len("CHECK")
	for _, ch := range c.Checks {
		idW = max(idW, utf8.RuneCountInString(ch.ID))
	}
	fmt.Fprintf(bw, "%-*s  %-6s  %-4s  %s\n", idW, "CHECK", "LEVEL", "", "EVIDENCE [SPEC SECTION]")
	for _, ch := range c.Checks {
		fmt.Fprintf(bw, "%-*s  %-6s  %-4s  %s [%s]\n", idW, ch.ID, ch.Level, statusWord(ch.Status), ch.Evidence, ch.Spec)
	}
	if !c.Passed {
		fmt.Fprintf(bw, "\nA failed MUST check breaks interoperability with Standard Webhooks senders; WARN marks a SHOULD.\n")
	}
	return bw.Flush()
}
