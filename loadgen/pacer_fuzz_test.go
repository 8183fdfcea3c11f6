package loadgen

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

// Whatever the spec, ParsePacer gives a pacer or an ErrPacer, never a
// panic; and a pacer it gives answers Pace and Rate for the first hits
// without panicking or asking for a negative wait.
//
//	go test ./loadgen -run '^$' -fuzz FuzzParsePacer -fuzztime 60s
func FuzzParsePacer(f *testing.F) {
	for _, s := range []string{"constant:2000", "linear:100..5000", "linear:100..5000@30s", "sine:1000,500,10s",
		"poisson:500", "steps:100,200,300@5s", "burst:50@1s", "constant:100 for 10s; linear:100..2000 for 20s",
		"constant:0", "constant:-1", "sine:1,2,0s", "burst:0@0s", "linear:1e308..1e308", "steps:@", ";;", " for "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		p, err := ParsePacer(spec, 10*time.Second, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			if !errors.Is(err, ErrPacer) {
				t.Fatalf("%q: error %v is not an ErrPacer", spec, err)
			}
			return
		}
		var elapsed time.Duration
		for hits := uint64(0); hits < 50; hits++ {
			wait, stop := p.Pace(elapsed, hits)
			if stop {
				return
			}
			if wait < 0 {
				t.Fatalf("%q: hit %d at %v: wait %v", spec, hits, elapsed, wait)
			}
			elapsed += wait
			_ = p.Rate(elapsed)
		}
	})
}
