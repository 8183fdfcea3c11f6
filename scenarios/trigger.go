package scenarios

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/hookrig/hookrig/loadgen"
)

// A trigger is written either on one line,
//
//	METHOD URL [BODY]      e.g. POST http://127.0.0.1:9000/emit {"id":"{{.ID}}"}
//	URL [BODY]             (the method is then POST)
//
// or as a small HTTP request file (what `--trigger @file` reads):
//
//	POST http://127.0.0.1:9000/emit
//	Content-Type: application/json
//	Authorization: Bearer dev-token
//
//	{"webhook_id": "{{.ID}}", "deliver_to": "{{.Endpoint}}", "key": "{{.Key}}"}
//
// The body is a load generator template, executed per event: {{.ID}} (the
// id the webhook must carry as its webhook-id), {{.Seq}}, {{.Key}},
// {{.Type}}, {{.Time}}, {{.Timestamp}} and its functions ({{randInt 1
// 9}}, {{pad}}, ...). {{.Endpoint}} is the chaos proxy's URL, where the
// user's sender must deliver; it is the same for every event, so it may
// also appear in the URL and headers, which take no other template.

// TriggerHelp documents the trigger syntax for the CLI.
const TriggerHelp = `A trigger is one HTTP request per event that makes your sender emit a
webhook carrying hookrig's id as its webhook-id. Inline:
  --trigger 'POST http://127.0.0.1:9000/emit {"id":"{{.ID}}","url":"{{.Endpoint}}"}'
or from a file (--trigger @emit.http): a request line, headers, a blank line,
then the body:
  POST http://127.0.0.1:9000/emit
  Authorization: Bearer dev-token

  {"id": "{{.ID}}", "key": "{{.Key}}", "deliver_to": "{{.Endpoint}}"}
The body sees {{.ID}} {{.Seq}} {{.Key}} {{.Type}} {{.Time}} {{.Timestamp}} and
the load generator's functions; {{.Endpoint}} is the chaos proxy's URL, where
your sender must deliver (it may also appear in the URL and headers).`

// endpointVar matches {{.Endpoint}} (with optional spaces and trims).
var endpointVar = regexp.MustCompile(`\{\{-?\s*\.Endpoint\s*-?\}\}`)

// ParseTrigger reads a trigger written inline or as a request file; name
// labels errors (a file name, or "--trigger").
func ParseTrigger(text, name string) (*Trigger, error) {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.TrimLeft(text, "\n")
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("%s: empty trigger; expected e.g. POST http://127.0.0.1:9000/emit {\"id\":\"{{.ID}}\"}", name)
	}
	var t Trigger
	if head, rest, multi := strings.Cut(text, "\n"); multi {
		if err := t.requestLine(head); err != nil {
			return nil, fmt.Errorf("%s:1: %w", name, err)
		}
		lines := strings.Split(rest, "\n")
		i := 0
		for ; i < len(lines) && strings.TrimSpace(lines[i]) != ""; i++ {
			h, err := loadgen.ParseHeader(lines[i])
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w (headers end at the first blank line)", name, i+2, err)
			}
			if t.Headers == nil {
				t.Headers = map[string]string{}
			}
			t.Headers[h.Name] = h.Value
		}
		if i < len(lines) {
			t.Body = strings.TrimRight(strings.Join(lines[i+1:], "\n"), "\n")
		}
	} else {
		fields := strings.Fields(text)
		if len(fields) >= 2 && !strings.Contains(fields[0], "://") {
			t.Method, t.URL = fields[0], fields[1]
			t.Body = afterFields(text, 2)
		} else {
			t.Method, t.URL = "POST", fields[0]
			t.Body = afterFields(text, 1)
		}
	}
	t.Method = strings.ToUpper(t.Method)
	if err := t.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &t, nil
}

func (t *Trigger) requestLine(line string) error {
	fields := strings.Fields(line)
	switch {
	case len(fields) == 1 && strings.Contains(fields[0], "://"):
		t.Method, t.URL = "POST", fields[0]
	case len(fields) == 2 || (len(fields) == 3 && strings.HasPrefix(fields[2], "HTTP/")):
		t.Method, t.URL = fields[0], fields[1]
	default:
		return fmt.Errorf("request line %q: expected METHOD URL, e.g. POST http://127.0.0.1:9000/emit", line)
	}
	return nil
}

// afterFields is s after its first n whitespace-separated fields, trimmed.
func afterFields(s string, n int) string {
	s = strings.TrimSpace(s)
	for range n {
		i := strings.IndexAny(s, " \t")
		if i < 0 {
			return ""
		}
		s = strings.TrimSpace(s[i:])
	}
	return s
}

// Check says whether the trigger can be sent: an upper-case method, an
// http(s) URL, headers and a body the load generator can render.
func (t *Trigger) Check() error {
	const placeholder = "http://127.0.0.1:1/webhooks"
	for _, c := range t.Method {
		if c < 'A' || c > 'Z' {
			return fmt.Errorf("method %q: expected an HTTP method such as POST", t.Method)
		}
	}
	u := t.Expand(placeholder).URL
	if strings.Contains(u, "{{") {
		return fmt.Errorf("url %q: only {{.Endpoint}} may appear in the URL; put {{.ID}} and the other per-event values in the body", t.URL)
	}
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
		return fmt.Errorf("url %q: expected an http:// or https:// URL", t.URL)
	}
	for name, v := range t.Expand(placeholder).Headers {
		if strings.Contains(v, "{{") {
			return fmt.Errorf("header %s: only {{.Endpoint}} may appear in a header; put per-event values in the body", name)
		}
		if _, err := loadgen.ParseHeader(name + ": " + v); err != nil {
			return err
		}
	}
	if _, err := loadgen.NewTemplatePayload("trigger body", t.Expand(placeholder).Body, 0); err != nil {
		return fmt.Errorf("body: %w", err)
	}
	return nil
}

// Expand returns the trigger with {{.Endpoint}} replaced by endpoint, the
// URL the user's sender must deliver to.
func (t *Trigger) Expand(endpoint string) *Trigger {
	out := &Trigger{Method: t.Method, URL: endpointVar.ReplaceAllLiteralString(t.URL, endpoint),
		Body: endpointVar.ReplaceAllLiteralString(t.Body, endpoint)}
	if t.Method == "" {
		out.Method = "POST"
	}
	if len(t.Headers) > 0 {
		out.Headers = make(map[string]string, len(t.Headers))
		for k, v := range t.Headers {
			out.Headers[k] = endpointVar.ReplaceAllLiteralString(v, endpoint)
		}
	}
	return out
}
