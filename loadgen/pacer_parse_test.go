package loadgen

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestParsePacer(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 1))
	tests := []struct {
		spec string
		over time.Duration
		// hits due before each of these times
		at   []time.Duration
		want []uint64
		str  string
	}{
		{"constant:2000", 0, []time.Duration{time.Second}, []uint64{2000}, "constant:2000"},
		{"constant:50/100ms", 0, []time.Duration{time.Second}, []uint64{500}, "constant:500"},
		{"constant:3/m", 0, []time.Duration{time.Minute}, []uint64{3}, "constant:0.05"},
		{"CONSTANT: 10/s", 0, []time.Duration{time.Second}, []uint64{10}, "constant:10"},
		{"linear:100..300", 10 * time.Second, []time.Duration{10 * time.Second}, []uint64{2000}, "linear:100..300@10s"},
		{"linear:100..300@2s", time.Hour, []time.Duration{2 * time.Second}, []uint64{400}, "linear:100..300@2s"},
		{"steps:100,500,1000@10s", 0, []time.Duration{10 * time.Second, 20 * time.Second, time.Hour}, []uint64{1000, 6000, 16000}, ""},
		{"steps:100..300+100@1s", 0, []time.Duration{time.Hour}, []uint64{600}, ""},
		{"sine:mean=1000,amp=500,period=4s", 0, []time.Duration{4 * time.Second}, []uint64{4000}, "sine:mean=1000,amp=500,period=4s"},
		{"sine:period=4s,amp=0,mean=10,phase=90", 0, []time.Duration{time.Second}, []uint64{10}, "sine:mean=10,amp=0,period=4s,phase=90"},
		{"burst:100@1s", 0, []time.Duration{1, 2 * time.Second}, []uint64{100, 200}, "burst:100@1s"},
		{"poisson:1000", 0, []time.Duration{0}, []uint64{0}, "poisson:1000"},
		{"constant:100 for 1s; idle for 1s; linear:100..300 for 2s", 0,
			[]time.Duration{time.Second, 2 * time.Second, time.Hour}, []uint64{100, 100, 500},
			"constant:100 for 1s; idle for 1s; linear:100..300@2s for 2s"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			p, err := ParsePacer(tt.spec, tt.over, rnd)
			if err != nil {
				t.Fatal(err)
			}
			for i, at := range tt.at {
				if got := Hits(p, at); got != tt.want[i] {
					t.Errorf("hits before %v = %d, want %d", at, got, tt.want[i])
				}
			}
			if tt.str != "" {
				if s, _ := p.(interface{ String() string }); s == nil || s.String() != tt.str {
					t.Errorf("String() = %v, want %q", p, tt.str)
				}
			}
		})
	}
}

func TestParsePacerErrors(t *testing.T) {
	tests := []struct{ spec, want string }{
		{"", "empty"},
		{"fast:100", `unknown pacer "fast"`},
		{":100", "missing pacer name"},
		{"constant:-5", "negative"},
		{"constant:0", "above 0"},
		{"constant:abc", "not a number"},
		{"constant:NaN", "not a number"},
		{"constant:5/0s", "not a positive duration"},
		{"constant:5/xyz", "not a positive duration"},
		{"linear:100..500", "needs a length"},
		{"linear:100-500", "FROM..TO"},
		{"linear:0..0@1s", "sends nothing"},
		{"linear:1..2@soon", "not a duration"},
		{"steps:100,200", "@EACH"},
		{"steps:100,x@1s", "not a number"},
		{"steps:100,200@-1s", "above 0"},
		{"steps:500..100+10@1s", "go up"},
		{"sine:mean=100,amp=200,period=1s", "exceeds mean"},
		{"sine:mean=100,amp=20", "needs period="},
		{"sine:mean=100,amp=20,period=1s,shape=square", "unknown sine parameter"},
		{"burst:0@1s", "positive whole number"},
		{"burst:10", "burst:N@EVERY"},
		{"idle:5", "no arguments"},
		{"constant:100 for 1s; burst:5", "phase 2"},
		{"constant:100 for ever", "not a duration"},
		{"constant:100; constant:200", "PACER for DURATION"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			_, err := ParsePacer(tt.spec, 0, rand.New(rand.NewPCG(1, 1)))
			if err == nil {
				t.Fatalf("ParsePacer(%q) gave no error", tt.spec)
			}
			if !errors.Is(err, ErrPacer) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParsePacer(%q) = %v, want an ErrPacer mentioning %q", tt.spec, err, tt.want)
			}
		})
	}
	if _, err := ParsePacer("poisson:10", 0, nil); err == nil || !strings.Contains(err.Error(), "seeded") {
		t.Errorf("poisson without a random source: %v", err)
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want float64
	}{
		{"2000", 2000}, {"0", 0}, {"0.5", 0.5}, {"10/s", 10}, {"50/100ms", 500}, {"6/m", 0.1}, {"1/2s", 0.5},
	}
	for _, tt := range tests {
		got, err := ParseRate(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"-1", "", "x", "1/", "1/-1s", "Inf"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) gave no error", bad)
		}
	}
}
