package report

import (
	"io"

	"github.com/hookrig/hookrig/sim/verdict"
)

// WriteConformHTML writes a conformance report as one self-contained page
// in the look of the run report: the verdict, then the graded table.
func WriteConformHTML(w io.Writer, c *verdict.Conformance) error {
	type row struct {
		verdict.ConformCheck
		Word string
	}
	data := struct {
		Title, Verdict string
		Passed         bool
		Rows           []row
	}{Title: "hookrig conform " + c.Target + " — " + c.URL, Verdict: conformVerdict(c), Passed: c.Passed}
	for _, ch := range c.Checks {
		data.Rows = append(data.Rows, row{ch, statusWord(ch.Status)})
	}
	return conformTemplate.Execute(w, data)
}

var conformTemplate = pageTemplate("conform", `{{template "head" .}}
<p class="verdict {{if .Passed}}pass{{else}}fail{{end}}">{{.Verdict}}</p>
<table>
<tr><th>check</th><th>level</th><th>status</th><th>evidence</th><th>spec section</th></tr>
{{range .Rows}}<tr{{if eq .Word "FAIL"}} class="bad"{{end}}><td><code>{{.ID}}</code></td><td>{{.Level}}</td><td>{{.Word}}</td><td>{{.Evidence}}</td><td class="muted">{{.Spec}}</td></tr>
{{end}}</table>
<p class="muted">Levels and sections from the Standard Webhooks specification, https://www.standardwebhooks.com. Schema {{"hookrig.conform/v1"}}.</p>
</body>
</html>
`)
