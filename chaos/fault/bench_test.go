package fault

import (
	"math/rand/v2"
	"os"
	"testing"
)

var benchBody = []byte(`{"type":"invoice.paid","id":"evt_0123456789","amount":4200}   `)

// BenchmarkChoose is the rule evaluation alone: what loaded rules cost a
// request that none of them faults, on a plain path and on a fleet
// endpoint's (whose name no rule there reads, so it is never built).
func BenchmarkChoose(b *testing.B) {
	data, err := os.ReadFile("../../bench/chaos-not-firing.yaml")
	if err != nil {
		b.Fatal(err)
	}
	rs := mustRules(b, string(data))
	for _, path := range []string{"/webhooks", "/fleet/main/3/webhooks"} {
		b.Run(path, func(b *testing.B) {
			ev := newEvaluator()
			var pcg rand.PCG
			rnd := rand.New(&pcg)
			req := post(path, map[string]string{"webhook-id": "evt_1", "webhook-attempt": "1"}, string(benchBody))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				seedDraws(&pcg, 1, req.EventID, req.Attempt, uint64(i))
				if r := rs.choose(ev, &req, 0, rnd, nil); r != nil {
					b.Fatal("a rule fired")
				}
			}
		})
	}
}
