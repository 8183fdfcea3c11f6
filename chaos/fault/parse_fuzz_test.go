package fault

import (
	"strings"
	"testing"
)

// Whatever a rule file (or a PUT /v1/rules body) holds, parsing and
// compiling it gives rules or an error that names the file; never a
// panic.
//
//	go test ./chaos -run '^$' -fuzz FuzzRules -fuzztime 60s
func FuzzRules(f *testing.F) {
	for _, s := range []string{
		"rules: []",
		`{"rules": [{"name": "flaky", "match": "method == \"POST\"", "probability": 0.3, "fault": {"type": "status", "code": 503, "headers": {"Retry-After": "1"}}, "after": "10s", "for": "30s"}]}`,
		"rules:\n  - name: slow\n    fault: {type: latency, distribution: lognormal, median: 100ms, sigma: 0.5}\n",
		"rules:\n  - name: dup\n    match: attempt == 1 && json(\"type\") == \"a\"\n    fault: {type: duplicate, copies: 2}\n",
		"rules:\n  - name: hold\n    fault: {type: reorder, distribution: uniform, min: 1ms, max: 1s}\n",
		"rules:\n  - name: d\n    fault: {type: down}\n    after: 1s\n    for: 2s\n",
		"rules:\n  - name: x\n    probability: 2\n    fault: {type: nope}\n",
		"rules:\n  -\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		specs, err := ParseRules(data, "fuzz.yaml")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if _, err := Compile(specs); err != nil && err.Error() == "" {
			t.Fatal("an empty error")
		}
	})
}
