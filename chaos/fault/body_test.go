package fault

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

var bodies = []string{
	`{"type":"invoice.paid","id":"evt_1","amount":4200}`,
	` { "type" : "a\"b" , "data": {"amount": -1.5e3, "tags": ["x", {"y": "}"}]}, "ok": true, "n": null } `,
	`{"ty\u0070e": "escaped key", "type": "last wins"}`,
	`{}`, `[]`, `"type"`, `{"type": }`, `{"type": "x"`, `{"type": "x"} trailing`, `{"a": [1, 2}, "type": "x"}`,
	`{"a": "ctl` + "\x01" + `", "type": "x"}`, `not json`, ``, `{"type": tru}`, `{"type": "x",}`,
	`{"a": 01, "type": 1}`, `{"a": 1.e5, "type": 1}`, `{"a": -, "type": 1}`, `{"a": 2E+7, "b": 0.5e-2, "type": -0}`,
	"{\"type\":\"\xca\"}", "{\"\xca\":1,\"type\":2}", // invalid UTF-8 (found by fuzzing)
}

// bodyFields agrees with json.Unmarshal on what it decodes, and refuses
// what json.Unmarshal refuses (when the defect is where it looks).
func TestBodyFieldsAgreesWithEncodingJSON(t *testing.T) {
	keys := []string{"type", "data", "ok", "n", "missing"}
	for _, b := range bodies {
		var full map[string]any
		valid := json.Unmarshal([]byte(b), &full) == nil
		got := bodyFields([]byte(b), keys)
		if !valid {
			if got != nil && b != `{"a": "ctl`+"\x01"+`", "type": "x"}` {
				t.Errorf("%q: json.Unmarshal refuses it, bodyFields gave %v", b, got)
			}
			continue
		}
		want := map[string]any{}
		for k, v := range full {
			if slices.Contains(keys, k) {
				want[k] = v
			}
		}
		if full != nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %#v, want %#v", b, got, want)
		}
	}
}

func FuzzBodyFields(f *testing.F) {
	for _, b := range bodies {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b string) {
		got := bodyFields([]byte(b), []string{"type", "data"}) // must not panic
		var full map[string]any
		if json.Unmarshal([]byte(b), &full) != nil || full == nil {
			return
		}
		if got == nil {
			t.Fatalf("%q: valid JSON object refused", b)
		}
		for _, k := range []string{"type", "data"} {
			if !reflect.DeepEqual(got[k], full[k]) {
				t.Fatalf("%q: %s = %#v, want %#v", b, k, got[k], full[k])
			}
		}
	})
}

func TestBodyUseDetection(t *testing.T) {
	cases := []struct {
		match string
		want  bodyUse
	}{
		{`method == "POST"`, bodyUse{}},
		{`body.type == "a" && body?.data?.amount > 3`, bodyUse{any: true, keys: []string{"type", "data"}}},
		{`body["type"] == "a"`, bodyUse{any: true, keys: []string{"type"}}},
		{`"type" in body`, bodyUse{any: true, whole: true}},
		{`body[header("x")] == "a"`, bodyUse{any: true, whole: true}},
		{`len(body) > 2`, bodyUse{any: true, whole: true}},
		// endpoint's name is built only for a match that names it
		{`endpoint.group == "sick"`, bodyUse{endpoint: true}},
		{`$env.endpoint.name == "sick-1"`, bodyUse{endpoint: true}},
	}
	for _, c := range cases {
		_, got, err := compileMatch(c.match)
		if err != nil {
			t.Fatalf("%s: %v", c.match, err)
		}
		slices.Sort(got.keys)
		slices.Sort(c.want.keys)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %+v, want %+v", c.match, got, c.want)
		}
	}
	// Whole-body rules still see every field.
	rs := mustRules(t, "rules:\n  - {name: w, match: '\"data\" in body && body.type == \"a\"', fault: {type: reset}}\n")
	if _, r := rs.Choose(post("/", nil, `{"type":"a","data":1}`), 0, rand.New(rand.NewPCG(1, 1))); r == nil {
		t.Error("whole-body rule did not match")
	}
}
