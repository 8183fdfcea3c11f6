package scenarios

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// Whatever the bytes, Parse returns a scenario or errors that each say
// where (file:line:column) and what was expected; it never panics. Seeded
// with every built-in and a few broken ones.
//
//	go test ./scenarios -run '^$' -fuzz FuzzParse -fuzztime 60s
func FuzzParse(f *testing.F) {
	list, err := List()
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range list {
		src, err := BuiltinSource(e.Name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	for _, s := range []string{"", "name: x\n", "name: [\n", "name: x\nload: {phases: [{pacer: constant:-1}]}\n",
		"name: x\nfaults: [{name: a, fault: {type: status, code: 99}}]\n", "name: x\nassertions: ['lost ==']\n",
		"\t\x00name: x", "name: &a x\nseed: *a\n", "name: x\ndrain: {timeout: 1e400s}\n"} {
		f.Add([]byte(s))
	}
	where := regexp.MustCompile(`^fuzz\.yaml:\d+:\d+: \S`)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data, "fuzz.yaml")
		if err == nil {
			if s == nil || s.Name == "" {
				t.Fatalf("no error and scenario %+v", s)
			}
			return
		}
		var es Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Fatalf("error %T %q: want Errors", err, err)
		}
		for _, e := range es {
			if msg := e.Error(); !where.MatchString(msg) || strings.Contains(msg, "panic") {
				t.Fatalf("error %q does not say where", msg)
			}
		}
	})
}
