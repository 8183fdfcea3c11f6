package loadgen

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func renderSeq(t *testing.T, p *Payload, seed, seq uint64) []byte {
	t.Helper()
	r := p.newRenderer(seed)
	ev := event{id: []byte("evt_x_" + string(rune('0'+seq%10))), seq: seq, key: []byte("key-3"), typ: "invoice.paid",
		at: time.Date(2026, 5, 6, 7, 8, 9, 123456789, time.UTC), shard: 2}
	b, err := r.render(nil, &ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDefaultPayloadIsWebhookJSON(t *testing.T) {
	for _, size := range []int{0, 1024, 4000} {
		p := DefaultPayload(size)
		if !p.Compiled() {
			t.Fatal("the default template is not compiled")
		}
		b := renderSeq(t, p, 1, 42)
		var ev struct {
			Type, ID, Timestamp string
			Data                struct {
				Seq      uint64
				Key      string
				Amount   int
				Customer string
			}
		}
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatalf("size %d: not JSON: %v\n%s", size, err, b)
		}
		if ev.Type != "invoice.paid" || ev.Data.Seq != 42 || ev.Data.Key != "key-3" || ev.Timestamp != "2026-05-06T07:08:09.123456789Z" {
			t.Errorf("fields: %+v", ev)
		}
		if ev.Data.Amount < 1 || ev.Data.Amount > 100000 || len(ev.Data.Customer) != len("cus_")+14 {
			t.Errorf("random fields: %+v", ev.Data)
		}
		if size > 0 && len(b) != size {
			t.Errorf("padded to %d bytes, want %d", len(b), size)
		}
	}
}

func TestPayloadRandomFieldsDependOnSeedAndSeq(t *testing.T) {
	p := DefaultPayload(0)
	a, b := renderSeq(t, p, 1, 7), renderSeq(t, p, 1, 7)
	if string(a) != string(b) {
		t.Error("the same seed and event gave different bodies")
	}
	if c := renderSeq(t, p, 1, 8); string(c) == string(a) {
		t.Error("two events got the same body")
	}
	if d := renderSeq(t, p, 2, 7); string(d) == string(a) {
		t.Error("two seeds gave the same body")
	}
}

func TestTemplateCompiledOrExecuted(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		size     int
		compiled bool
		want     string // with seed 1, seq 5; "" to skip
	}{
		{"plain fields", `{{.ID}}|{{.Seq}}|{{.Key}}|{{.Type}}|{{.Timestamp}}|{{.Shard}}`, 0, true, "evt_x_5|5|key-3|invoice.paid|1778051289|2"},
		{"padding in the middle", `[{{pad}}]{{.Seq}}`, 10, true, "[xxxxxxx]5"},
		{"functions", `{{randInt 5 5}} {{len (randHex 4)}}`, 0, false, "5 4"},
		{"uuid", `{{uuid}}`, 0, true, ""},
		{"branching on a value", `{{if gt .Seq 3}}big{{else}}small{{end}}`, 0, false, "big"},
		{"formatting a value", `{{printf "%05d" .Seq}}`, 0, false, "00005"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewTemplatePayload("t.tmpl", tt.text, tt.size)
			if err != nil {
				t.Fatal(err)
			}
			if p.Compiled() != tt.compiled {
				t.Errorf("Compiled() = %v, want %v", p.Compiled(), tt.compiled)
			}
			got := renderSeq(t, p, 1, 5)
			if tt.want != "" && string(got) != tt.want {
				t.Errorf("rendered %q, want %q", got, tt.want)
			}
			if tt.name == "uuid" && (len(got) != 36 || got[14] != '4') {
				t.Errorf("uuid %q", got)
			}
		})
	}
}

func TestTemplateErrors(t *testing.T) {
	tests := []struct {
		name, text string
		size       int
		want       string
	}{
		{"syntax", "{\n  \"a\": {{.ID}\n}", 0, "t.tmpl:2"},
		{"unknown function", `{{nope}}`, 0, `function "nope" not defined`},
		{"unknown field", `{{.Amount}}`, 0, "Amount"},
		{"bad randInt", `{{randInt 9 1}}`, 0, "max below min"},
		{"negative randHex", `{{randHex -1}}`, 0, "randHex -1: want a length from 0"},
		{"huge randString", `{{randString 99999999999}}`, 0, "randString 99999999999: want a length from 0"},
		{"huge randHex, executed", `{{len (randHex 99999999999)}}`, 0, "want a length from 0"},
		{"size without pad", `{"a":1}`, 100, "needs {{pad}}"},
		{"negative size", `{}`, -1, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewTemplatePayload("t.tmpl", tt.text, tt.size)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestStaticPayload(t *testing.T) {
	p := StaticPayload([]byte(`{"static":true}`))
	if got := renderSeq(t, p, 1, 1); string(got) != `{"static":true}` {
		t.Errorf("got %q", got)
	}
}

func BenchmarkRenderDefault1KB(b *testing.B) {
	p := DefaultPayload(1024)
	r := p.newRenderer(1)
	ev := event{id: []byte("evt_0123456789_12345"), key: []byte("key-1"), typ: "bench.test", at: time.Now()}
	buf := make([]byte, 0, 2048)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		ev.seq = uint64(i)
		buf, _ = r.render(buf[:0], &ev)
	}
}

// TestEmptyBodies: an empty body (a trigger that posts nothing) renders as
// nothing. It used to reach the template path with no template and panic.
func TestEmptyBodies(t *testing.T) {
	empty, err := NewTemplatePayload("t.tmpl", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]*Payload{"empty template": empty, "StaticPayload(nil)": StaticPayload(nil),
		"StaticPayload(empty)": StaticPayload([]byte{})} {
		if !p.Compiled() {
			t.Errorf("%s: not compiled", name)
		}
		if b := renderSeq(t, p, 1, 5); len(b) != 0 {
			t.Errorf("%s: rendered %q, want nothing", name, b)
		}
		if b, err := p.Sample(3, 1); err != nil || len(b) != 0 {
			t.Errorf("%s: Sample = %q, %v", name, b, err)
		}
	}
	if _, err := NewTemplatePayload("t.tmpl", "", 100); err == nil || !strings.Contains(err.Error(), "needs {{pad}}") {
		t.Errorf("empty template with a size: %v, want the {{pad}} error", err)
	}
}

// TestOddTemplatesNeverPanic: whatever the template, NewTemplatePayload
// returns an error or a payload that renders.
func TestOddTemplatesNeverPanic(t *testing.T) {
	for _, text := range []string{
		"", " ", "{{/* only a comment */}}", `{{define "x"}}a{{end}}`, `{{define "x"}}a{{end}}{{template "x"}}`,
		`{{- pad -}}`, `{{pad}}{{pad}}`, `{{randInt -9223372036854775808 9223372036854775807}}`,
		`{{randInt 0 9223372036854775807}}`, `{{randInt -1 9223372036854775807}}`, `{{randInt 7 7}}`,
		`{{randHex 0}}{{randString 0}}`, `{{index .ID 99}}`, `{{.ID.Nope}}`, `{{template "missing"}}`,
		`{{range .Seq}}{{end}}`, `{{len .Seq}}`, `{{break}}`, "{{", "}}", "\x00",
	} {
		for _, size := range []int{0, 64} {
			p, err := NewTemplatePayload("t.tmpl", text, size)
			if err != nil {
				continue
			}
			for seq := range uint64(4) {
				if _, err := p.Sample(seq, 9); err != nil {
					t.Errorf("%q size %d: accepted, then Sample(%d) failed: %v", text, size, seq, err)
				}
			}
		}
	}
}

// TestRandIntWholeRange: bounds whose span overflows an int64 still draw
// within them, and ordinary bounds draw what they always did.
func TestRandIntWholeRange(t *testing.T) {
	p, err := NewTemplatePayload("t.tmpl", `{{randInt -9223372036854775808 9223372036854775807}} {{randInt -1 9223372036854775807}} {{randInt 1 6}}`, 0)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for seq := range uint64(50) {
		b := renderSeq(t, p, 1, seq)
		f := strings.Fields(string(b))
		if len(f) != 3 || strings.HasPrefix(f[1], "-") && f[1] != "-1" || len(f[2]) != 1 || f[2] < "1" || f[2] > "6" {
			t.Fatalf("seq %d rendered %q", seq, b)
		}
		seen[f[0]] = true
	}
	if len(seen) < 45 {
		t.Errorf("%d distinct values over the whole range in 50 draws", len(seen))
	}
}
