package loadgen_test

import (
	"fmt"
	"time"

	"github.com/hookrig/hookrig/loadgen"
)

// A scenario's load as one pacer, and the intended send times a simulator
// replays from it, without a clock.
func ExampleArrivals() {
	load := loadgen.Sequence(
		loadgen.Phase{Pacer: loadgen.Constant(4), Duration: time.Second},
		loadgen.Phase{Pacer: loadgen.BurstPacer{Size: 3, Every: time.Second}, Duration: time.Second},
	)
	for n, at := range loadgen.Arrivals(load, 0) {
		fmt.Println(n, at)
	}
	// Output:
	// 0 0s
	// 1 250ms
	// 2 500ms
	// 3 750ms
	// 4 1s
	// 5 1s
	// 6 1s
}

func ExampleParsePacer() {
	p, err := loadgen.ParsePacer("steps:100,500,1000@10s", 0, nil)
	if err != nil {
		panic(err)
	}
	for _, at := range []time.Duration{10 * time.Second, 20 * time.Second, 30 * time.Second} {
		fmt.Printf("by %v: %d requests, asking %v/s\n", at, loadgen.Hits(p, at), p.Rate(at-time.Second))
	}
	_, err = loadgen.ParsePacer("constant:-5", 0, nil)
	fmt.Println(err)
	// Output:
	// by 10s: 1000 requests, asking 100/s
	// by 20s: 6000 requests, asking 500/s
	// by 30s: 16000 requests, asking 1000/s
	// bad pacer "constant:-5": rate "-5" is negative
}
