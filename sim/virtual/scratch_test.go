package virtual

import (
	"context"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/hookrig/hookrig/scenarios"
)

func TestScratchFleet(t *testing.T) {
	if os.Getenv("SCRATCH") == "" {
		t.Skip()
	}
	s, _ := scenarios.Builtin("day-long-outage")
	c := *s
	c.Faults = nil
	c.Assertions = nil
	n := 10000
	fp := fleetPlan{}
	for i := range n {
		fp.ids = append(fp.ids, "ep-"+strconv.Itoa(i))
		fp.paths = append(fp.paths, "/fleet/g/"+strconv.Itoa(i))
		fp.groups = append(fp.groups, 0)
	}
	fp.assign = func(num uint64) int32 { return int32(splitmix(num) % uint64(n)) }
	f, _ := os.Create("/tmp/fv-cpu.prof")
	pprof.StartCPUProfile(f)
	t0 := time.Now()
	res, st, err := Run(context.Background(), &c, Options{fleet: &fp})
	pprof.StopCPUProfile()
	if err != nil {
		t.Fatal(err)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("took %s, attempts %d events %d delivered %d heap %d MB sys %d MB", time.Since(t0), st.Attempts, st.Events, res.Events.Delivered, ms.HeapAlloc>>20, ms.Sys>>20)
}
