package scenarios

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Every built-in parses, says in one line what it demonstrates, and
// asserts something.
func TestBuiltinsAreValid(t *testing.T) {
	list, err := List()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, e := range list {
		names[e.Name] = true
		s, err := Builtin(e.Name)
		if err != nil {
			t.Errorf("%s: %v", e.Name, err)
			continue
		}
		if s.File != BuiltinPrefix+e.Name || s.Name != e.Name {
			t.Errorf("%s: file %q, name %q (the file name and the scenario name must agree)", e.Name, s.File, s.Name)
		}
		if sum := e.Summary(); sum == "" || len(sum) > 80 || strings.Count(s.Description, "\n") < 1 {
			t.Errorf("%s: summary %q: want a first line of at most 80 characters, then the details", e.Name, sum)
		}
		if len(s.Assertions) == 0 {
			t.Errorf("%s: no assertions", e.Name)
		}
	}
	for _, want := range []string{"baseline", "flaky-5xx", "outage-recovery", "latency-spike", "slow-receiver-timeouts",
		"ack-lost-duplicates", "rate-limited-429", "gone-410", "reorder", "sender-crash"} {
		if !names[want] {
			t.Errorf("the library lacks %s", want)
		}
	}
}

func TestOpen(t *testing.T) {
	s, err := Open("")
	if err != nil || s.Name != DefaultScenario {
		t.Fatalf("Open(\"\") = %v, %v", s, err)
	}
	if _, err := Open("flaky-5xx"); err != nil {
		t.Fatal(err)
	}
	_, err = Open("flakey-5xx")
	if err == nil || !strings.Contains(err.Error(), `no built-in scenario "flakey-5xx"`) || !strings.Contains(err.Error(), "flaky-5xx") {
		t.Errorf("unknown name: %v", err)
	}
	for _, bad := range []string{"../etc/passwd", "library/*", "*"} {
		if _, err := BuiltinSource(bad); err == nil {
			t.Errorf("BuiltinSource(%q) should fail", bad)
		}
	}
	dir := t.TempDir()
	src, _ := BuiltinSource("baseline")
	path := filepath.Join(dir, "mine.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(string(src), "name: baseline", "name: mine", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(path); err != nil || s.Name != "mine" || s.File != path {
		t.Fatalf("Open(file) = %+v, %v", s, err)
	}
	if _, err := Open(filepath.Join(dir, "missing.yaml")); err == nil || !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}

func TestShortened(t *testing.T) {
	s, err := Builtin("outage-recovery")
	if err != nil {
		t.Fatal(err)
	}
	short := s.Shortened(0.25)
	if short.LoadEnd() != s.LoadEnd()/4 || short.Drain.Timeout != s.Drain.Timeout {
		t.Errorf("load end %s (from %s), drain %s", short.LoadEnd(), s.LoadEnd(), short.Drain.Timeout)
	}
	f, g := s.Faults[0], short.Faults[0]
	if g.After != f.After/4 || g.For != f.For/4 || g.Rule.After.D() != f.After/4 || g.Rule.For.D() != f.For/4 {
		t.Errorf("fault %+v shortened to %+v", f, g)
	}
	if s.Faults[0].After != 4*time.Second || s.Load.Phases[1].Start != 4*time.Second {
		t.Error("Shortened changed the original")
	}
	c, _ := Builtin("sender-crash")
	if sc := c.Shortened(0.5).Sender.Crashes[0]; sc.At != c.Sender.Crashes[0].At/2 {
		t.Errorf("crash %+v", sc)
	}
}

func TestParseTrigger(t *testing.T) {
	cases := []struct {
		in                string
		method, url, body string
		headers           map[string]string
	}{
		{`POST http://127.0.0.1:9000/emit {"id":"{{.ID}}"}`, "POST", "http://127.0.0.1:9000/emit", `{"id":"{{.ID}}"}`, nil},
		{`http://127.0.0.1:9000/emit?key={{.Endpoint}}`, "POST", "http://127.0.0.1:9000/emit?key={{.Endpoint}}", "", nil},
		{`put http://h/e  {"a": "{{.Key}}", "b": 1}`, "PUT", "http://h/e", `{"a": "{{.Key}}", "b": 1}`, nil},
		{"POST http://h/emit HTTP/1.1\r\nAuthorization: Bearer t\r\nX-To: {{.Endpoint}}\r\n\r\n{\n  \"id\": \"{{.ID}}\"\n}\n", "POST", "http://h/emit",
			"{\n  \"id\": \"{{.ID}}\"\n}", map[string]string{"Authorization": "Bearer t", "X-To": "{{.Endpoint}}"}},
	}
	for _, c := range cases {
		tr, err := ParseTrigger(c.in, "t")
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if tr.Method != c.method || tr.URL != c.url || tr.Body != c.body || len(tr.Headers) != len(c.headers) {
			t.Errorf("%q: got %+v", c.in, tr)
		}
		for k, v := range c.headers {
			if tr.Headers[k] != v {
				t.Errorf("%q: header %s = %q", c.in, k, tr.Headers[k])
			}
		}
	}
	x := (&Trigger{Method: "POST", URL: "http://h/{{ .Endpoint }}", Body: `{"to":"{{.Endpoint}}","id":"{{.ID}}"}`}).Expand("http://127.0.0.1:5/w")
	if x.URL != "http://h/http://127.0.0.1:5/w" || x.Body != `{"to":"http://127.0.0.1:5/w","id":"{{.ID}}"}` {
		t.Errorf("Expand: %+v", x)
	}
	bad := []struct{ in, want string }{
		{"", "empty trigger"},
		{"POST ftp://h/x", "http://"},
		{"POST http://h/{{.ID}}", "only {{.Endpoint}} may appear in the URL"},
		{"P0ST http://h/x", "method"},
		{`POST http://h/x {"id":"{{.Nope}}"}`, "body"},
		{"POST http://h/x\nBad Header\n\n{}", "t:2:"},
		{"POST http://h/x\nX-Id: {{.ID}}\n\n{}", "only {{.Endpoint}} may appear in a header"},
		{"a b c d\n\n{}", "t:1: request line"},
	}
	for _, c := range bad {
		if _, err := ParseTrigger(c.in, "t"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.in, err, c.want)
		}
	}
}

// A scenario's trigger is checked with the same rules, at its position.
func TestScenarioTrigger(t *testing.T) {
	head := "name: a\nload:\n  phases:\n    - {pacer: constant:1, duration: 1s}\n"
	s, err := Parse([]byte(head+"sender:\n  trigger:\n    url: http://127.0.0.1:9/emit\n    body: '{\"id\":\"{{.ID}}\"}'\n"), "x.yaml")
	if err != nil || s.Sender.Trigger == nil || s.Sender.Trigger.Method != "POST" {
		t.Fatalf("%+v %v", s, err)
	}
	_, err = Parse([]byte(head+"sender:\n  trigger:\n    url: http://127.0.0.1:9/emit/{{.ID}}\n"), "x.yaml")
	if err == nil || !strings.Contains(err.Error(), "x.yaml:7:10: sender.trigger: url") {
		t.Errorf("got %v", err)
	}
}
