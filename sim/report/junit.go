package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/hookrig/hookrig/sim/verdict"
)

// JUnit XML, in the dialect CI systems (Jenkins, GitLab, GitHub test
// reporters) read: one testsuite for the scenario, one testcase per
// assertion, a failure element with the assertion's message, the text
// report as the suite's system-out.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr,omitempty"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out,omitempty"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes r as JUnit XML. A run without assertions is one
// passing testcase, so CI still shows that it ran.
func WriteJUnit(w io.Writer, r *verdict.Result) error {
	var text bytes.Buffer
	if err := WriteText(&text, r); err != nil {
		return err
	}
	name := "hookrig." + orDash(r.Scenario)
	suite := junitSuite{Name: name, SystemOut: text.String()}
	if r.WallTime > 0 {
		suite.Time = strconv.FormatFloat(r.WallTime.Seconds(), 'f', 3, 64)
	}
	e := r.Events
	for _, p := range [][2]string{
		{"scenario", r.Scenario}, {"mode", r.Mode}, {"seed", fmt.Sprint(r.Seed)}, {"trace_hash", r.TraceHash},
		{"replay", r.Replay}, {"accepted", fmt.Sprint(e.Accepted)}, {"delivered", fmt.Sprint(e.Delivered)},
		{"lost", fmt.Sprint(e.Lost)}, {"duplicated", fmt.Sprint(e.Duplicated)}, {"dead_lettered", fmt.Sprint(e.DeadLettered)},
		{"pending", fmt.Sprint(e.Pending)}, {"unexpected", fmt.Sprint(e.Unexpected)}, {"reordered", fmt.Sprint(e.Reordered)},
		{"target.receiver", r.Target.Receiver}, {"target.sender", r.Target.Sender}, {"target.proxy", r.Target.Proxy},
		{"target.receipts", r.Target.Receipts}, {"finding", findingText(r)},
	} {
		if p[1] != "" {
			suite.Properties = append(suite.Properties, junitProperty{p[0], p[1]})
		}
	}
	if f := r.Endpoints; f != nil {
		for _, g := range f.Groups {
			suite.Properties = append(suite.Properties, junitProperty{"group." + g.Name,
				fmt.Sprintf("%d endpoints, %d accepted, %d delivered, %d lost, %d dead-lettered, %d pending, %d attempts (amplification %s), p99 %s",
					g.Endpoints, g.Accepted, g.Delivered, g.Lost, g.DeadLettered, g.Pending, g.Attempts, trimFloat(g.Amplification, 2), fmtMs(g.Latency.P99))})
		}
	}
	if line := isolationLine(r); line != "" {
		suite.Properties = append(suite.Properties, junitProperty{"isolation", line})
	}
	for _, rows := range [][][]string{senderRows(r), receiverRows(r)} {
		for _, row := range rows[min(1, len(rows)):] {
			var cells []string
			for i, c := range row[1:] {
				cells = append(cells, rows[0][i+1]+" "+c)
			}
			suite.Properties = append(suite.Properties, junitProperty{rows[0][0] + "." + row[0], strings.Join(cells, ", ")})
		}
	}
	for _, a := range r.Assertions {
		c := junitCase{Name: a.Expr, Classname: name, Time: "0"}
		if !a.Passed {
			msg := a.Message
			if msg == "" {
				msg = "assertion failed"
			}
			body := fmt.Sprintf("assertion: %s\n%s\n", a.Expr, msg)
			if r.Replay != "" {
				body += "replay: " + r.Replay + "\n"
			}
			c.Failure = &junitFailure{Message: msg, Type: "AssertionFailed", Text: body}
			suite.Failures++
		}
		suite.Cases = append(suite.Cases, c)
	}
	if ep := r.Endpoint; ep.Attempts > 0 {
		suite.Properties = append(suite.Properties,
			junitProperty{"endpoint.attempts", fmt.Sprint(ep.Attempts)},
			junitProperty{"endpoint.answered", fmt.Sprint(ep.Answered)})
		if ep.Answered > 0 {
			suite.Properties = append(suite.Properties, junitProperty{"endpoint.response", responseText(ep)})
		}
		if len(ep.Failures) > 0 {
			suite.Properties = append(suite.Properties, junitProperty{"endpoint.failures", causesText(ep)})
		}
		for _, d := range ep.Disables {
			suite.Properties = append(suite.Properties, junitProperty{"endpoint.disabled", disableText(d)})
		}
	}
	// A failed run check is a failed testcase: CI must not show green
	// for a run that delivered nothing.
	for _, c := range r.FailedRunChecks() {
		body := fmt.Sprintf("run check: %s\n%s\n", c.Expr, c.Message)
		suite.Cases = append(suite.Cases, junitCase{Name: c.Expr + " (run check)", Classname: name, Time: "0",
			Failure: &junitFailure{Message: c.Message, Type: "RunCheckFailed", Text: body}})
		suite.Failures++
	}
	if len(suite.Cases) == 0 {
		suite.Cases = append(suite.Cases, junitCase{Name: "scenario ran (it has no assertions)", Classname: name, Time: "0"})
	}
	suite.Tests = len(suite.Cases)
	doc := junitSuites{Name: "hookrig", Tests: suite.Tests, Failures: suite.Failures, Time: suite.Time, Suites: []junitSuite{suite}}
	return writeJUnitDoc(w, doc)
}

// writeJUnitDoc writes doc with the XML header, indented.
func writeJUnitDoc(w io.Writer, doc junitSuites) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("encoding JUnit XML: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}
