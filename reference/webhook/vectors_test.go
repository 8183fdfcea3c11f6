package webhook

import (
	"encoding/json"
	"net/http"
	"os"
	"testing"
	"time"
)

// vectorFile is testdata/vectors.json, printed by testdata/vectors.sh from
// the providers' official npm libraries.
type vectorFile struct {
	Libraries map[string]string `json:"libraries"`
	Vectors   []struct {
		Scheme    string            `json:"scheme"`
		Library   string            `json:"library"`
		Secrets   []string          `json:"secrets"`
		ID        string            `json:"id"`
		Timestamp int64             `json:"timestamp"`
		Body      string            `json:"body"`
		Headers   map[string]string `json:"headers"`
	} `json:"vectors"`
}

// TestOfficialVectors verifies every request the official libraries signed,
// and checks that our Sign writes the very headers they wrote.
func TestOfficialVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(raw, &vf); err != nil {
		t.Fatalf("testdata/vectors.json: %v", err)
	}
	seen := map[string]int{}
	for i, v := range vf.Vectors {
		if _, ok := vf.Libraries[v.Library]; !ok {
			t.Errorf("vector %d: library %q has no recorded version", i, v.Library)
		}
		seen[v.Scheme]++
		s, err := NewScheme(v.Scheme, Options{Secrets: v.Secrets})
		if err != nil {
			t.Fatalf("vector %d: %v", i, err)
		}
		h := http.Header{}
		for k, val := range v.Headers {
			h.Set(k, val)
		}
		at := time.Unix(v.Timestamp, 0)
		got, err := s.Verify(h, []byte(v.Body), at)
		if err != nil {
			t.Errorf("vector %d (%s by %s %s): %v", i, v.Scheme, v.Library, vf.Libraries[v.Library], err)
			continue
		}
		if got.ID != v.ID {
			t.Errorf("vector %d (%s): ID = %q, want %q", i, v.Scheme, got.ID, v.ID)
		}
		mine := http.Header{}
		s.Sign(mine, v.ID, at, []byte(v.Body))
		for k, val := range v.Headers {
			if mine.Get(k) != val {
				t.Errorf("vector %d (%s): Sign wrote %s: %q, the library wrote %q", i, v.Scheme, k, mine.Get(k), val)
			}
		}
		if _, err := s.Verify(h, append([]byte(v.Body), ' '), at); FailureOf(err) != Mismatch {
			t.Errorf("vector %d (%s): a changed body gave %v, want a mismatch", i, v.Scheme, err)
		}
	}
	for _, scheme := range []string{"standard", "svix", "github", "stripe", "shopify"} {
		if seen[scheme] == 0 {
			t.Errorf("no vector for %s: rerun reference/webhook/testdata/vectors.sh", scheme)
		}
	}
}
