package report

import (
	"bytes"
	"io"

	"github.com/hookrig/hookrig/sim/verdict"
)

// WriteConformJUnit writes a conformance report as JUnit XML: one testcase
// per check (a failure for FAIL, skipped for SKIP; a WARN passes, its
// evidence in the case's system-out), the text report as system-out.
func WriteConformJUnit(w io.Writer, c *verdict.Conformance) error {
	var text bytes.Buffer
	if err := WriteConformText(&text, c); err != nil {
		return err
	}
	name := "hookrig.conform." + c.Target
	suite := junitSuite{Name: name, SystemOut: text.String(),
		Properties: []junitProperty{{"target", c.Target}, {"url", c.URL}, {"schema", c.Schema}}}
	for _, ch := range c.Checks {
		jc := junitCase{Name: ch.ID + " (" + string(ch.Level) + ")", Classname: name, Time: "0"}
		switch ch.Status {
		case verdict.CheckFail:
			jc.Failure = &junitFailure{Message: ch.Evidence, Type: "MUST", Text: ch.Evidence + "\nspec: " + ch.Spec + "\n"}
			suite.Failures++
		case verdict.CheckSkip:
			jc.Skipped = &junitSkipped{Message: ch.Evidence}
			suite.Skipped++
		case verdict.CheckWarn:
			jc.SystemOut = "WARN (SHOULD): " + ch.Evidence
		}
		suite.Cases = append(suite.Cases, jc)
	}
	suite.Tests = len(suite.Cases)
	doc := junitSuites{Name: "hookrig", Tests: suite.Tests, Failures: suite.Failures, Suites: []junitSuite{suite}}
	return writeJUnitDoc(w, doc)
}
