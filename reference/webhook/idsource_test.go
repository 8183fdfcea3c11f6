package webhook

import (
	"net/http"
	"strings"
	"testing"
)

func TestParseIDSource(t *testing.T) {
	for _, c := range []struct {
		spec string
		want IDSource
		err  string
	}{
		{"header:webhook-id", IDInHeader("webhook-id"), ""},
		{"Header: X-GitHub-Delivery ", IDInHeader("X-GitHub-Delivery"), ""},
		{"json:data.hookrig_id", IDInJSON("data.hookrig_id"), ""},
		{"json:id", IDInJSON("id"), ""},
		{"json:data..id", IDSource{}, "empty segment"},
		{"header:", IDSource{}, "want header:NAME"},
		{"webhook-id", IDSource{}, "want header:NAME"},
		{"body:id", IDSource{}, "want header:NAME"},
		{"header:a b", IDSource{}, "not a header name"},
	} {
		got, err := ParseIDSource(c.spec)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), c.spec) {
				t.Errorf("ParseIDSource(%q) = %v, %v; want an error naming the spec and %q", c.spec, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseIDSource(%q) = %v, %v; want %v", c.spec, got, err, c.want)
		}
		if again, _ := ParseIDSource(got.String()); again != got {
			t.Errorf("%v does not survive String and ParseIDSource: %v", got, again)
		}
	}
	if (IDSource{}).String() != "none" || !(IDSource{}).IsNone() {
		t.Error("the zero IDSource is none")
	}
}

func TestIDSourceExtract(t *testing.T) {
	h := http.Header{}
	h.Set("X-Event", "ev-1")
	body := []byte(`{"id":"evt_1","n":42,"data":{"hookrig_id":"ev-000007","list":[{"id":"a"},{"id":"b"}],"obj":{},"empty":""}}`)
	for _, c := range []struct {
		src  IDSource
		want string
		fail Failure
	}{
		{IDInHeader("x-event"), "ev-1", 0},
		{IDInHeader("X-Missing"), "", MissingHeader},
		{IDInJSON("id"), "evt_1", 0},
		{IDInJSON("n"), "42", 0},
		{IDInJSON("data.hookrig_id"), "ev-000007", 0},
		{IDInJSON("data.list.1.id"), "b", 0},
		{IDInJSON("data.list.2.id"), "", MissingID},
		{IDInJSON("data.missing"), "", MissingID},
		{IDInJSON("id.deeper"), "", MissingID},
		{IDInJSON("data.obj"), "", BadFormat},
		{IDInJSON("data.empty"), "", MissingID},
		{IDSource{}, "", 0},
	} {
		got, err := c.src.Extract(h, body)
		if FailureOf(err) != c.fail || got != c.want {
			t.Errorf("%v: %q, %v; want %q, failure %v", c.src, got, err, c.want, c.fail)
		}
	}
	if _, err := IDInJSON("id").Extract(h, []byte("id=1")); FailureOf(err) != BadFormat || !strings.Contains(err.Error(), "not JSON") {
		t.Errorf("a form body: %v, want a bad-format error saying it is not JSON", err)
	}
}
