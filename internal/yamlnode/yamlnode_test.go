package yamlnode

import (
	"strings"
	"testing"
)

// go-yaml v1.19.2 panics decoding a tagged scalar into a slice; Decode
// returns an error instead. If a later go-yaml fixes that, the decode
// fails cleanly or succeeds, and this test still holds: no panic escapes.
func TestDecodeTurnsAPanicIntoAnError(t *testing.T) {
	f, err := Parse([]byte("list:\n  ! 0000\n"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		List []string `yaml:"list"`
	}
	err = Decode(f.Docs[0].Body, &v)
	if err != nil && !strings.Contains(err.Error(), "YAML") && !strings.Contains(err.Error(), "yaml") {
		t.Errorf("error %q", err)
	}
	t.Logf("decode: %v", err)
}

func TestDecodeAndParse(t *testing.T) {
	f, err := Parse([]byte("a: 1\nb: [x, y]\n"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		A int
		B []string
	}
	if err := Decode(f.Docs[0].Body, &v); err != nil || v.A != 1 || len(v.B) != 2 {
		t.Errorf("%+v, %v", v, err)
	}
	if _, err := Parse([]byte("a: [\n")); err == nil {
		t.Error("an unclosed list parsed")
	}
}
