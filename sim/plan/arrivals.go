package plan

import (
	"iter"
	"strconv"
	"sync"
	"time"

	"github.com/hookrig/hookrig/loadgen"
)

// Arrival is one ingest request of a run's load: its number (from 0), when
// it is sent (from the run's start), the index of the endpoint it is for
// and its event's id.
type Arrival struct {
	N        uint64
	At       time.Duration
	Endpoint int32
	ID       string
}

// Arrivals are worked out ahead, in batches of arrivalBatch, at most
// arrivalBatches of them ready or in use.
const (
	arrivalBatch   = 4096
	arrivalBatches = 4
)

// Arrivals yields the load's arrivals in order: loadgen.Arrivals of p,
// each with assign's endpoint (0 when assign is nil; Fleet.Assign's index
// in a fleet) and the id prefix and number make. They are worked out on a
// goroutine of their own, up to arrivalBatch·arrivalBatches ahead: none
// of it depends on how the run goes, and with ten thousand endpoints the
// choice of endpoint and the id's allocation cost the virtual engine's
// single event loop more than a tenth of its time, which the machine's
// other core can take. The Arrival yielded is valid until the next.
func Arrivals(p loadgen.Pacer, assign func(uint64) int32, prefix string) iter.Seq[*Arrival] {
	return func(yield func(*Arrival) bool) {
		full := make(chan []Arrival, arrivalBatches)
		free := make(chan []Arrival, arrivalBatches)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		defer func() {
			close(stop)
			wg.Wait() // the planner is gone before the run goes on
		}()
		wg.Go(func() {
			defer close(full)
			made := 0
			var b []Arrival
			var idBuf []byte
			for num, t := range loadgen.Arrivals(p, 0) {
				if b == nil {
					if made < arrivalBatches {
						b, made = make([]Arrival, 0, arrivalBatch), made+1
					} else {
						select {
						case b = <-free:
						case <-stop:
							return
						}
					}
				}
				var e int32
				if assign != nil {
					e = assign(num)
				}
				idBuf = strconv.AppendUint(append(idBuf[:0], prefix...), num, 10)
				b = append(b, Arrival{N: num, At: t, Endpoint: e, ID: string(idBuf)})
				if len(b) == arrivalBatch {
					select {
					case full <- b:
					case <-stop:
						return
					}
					b = nil
				}
			}
			if len(b) > 0 {
				select {
				case full <- b:
				case <-stop:
				}
			}
		})
		for b := range full {
			for i := range b {
				if !yield(&b[i]) {
					return
				}
			}
			free <- b[:0]
		}
	}
}
