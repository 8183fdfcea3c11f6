package chaos

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
)

// watchPhase is what a data-path connection is waiting for, and so which
// timeout applies to it.
type watchPhase uint32

const (
	phaseNone    watchPhase = iota // not waiting on the peer (a request being handled)
	phaseOpened                    // a new client connection, no byte yet: readTimeout
	phaseRequest                   // reading a client's request: readTimeout
	phaseIdle                      // answered, awaiting the next request: idleTimeout
	phaseAnswer                    // sending to the upstream and awaiting its answer: Config.UpstreamTimeout
	phaseCount
)

// cutMark is wireConn.watch once the watchdog cut the connection.
const cutMark = math.MaxUint64

// Client connections get a minute to send a request and two to start the
// next one on a kept-alive connection; then they are let go. Idle upstream
// connections are closed after poolIdle, before the usual keep-alive
// timeouts of servers (Node's 5s) close them under a request.
const (
	readTimeout = time.Minute
	idleTimeout = 2 * time.Minute
	poolIdle    = 3 * time.Second
)

// watchdog enforces the data path's timeouts without a deadline per
// request (setting one costs a clock reading and a runtime timer update,
// several per request): every tick it looks at each connection's phase
// and cuts those that have been in it too long. A connection notes its
// phase with one atomic store and reads no clock. A timeout T fires after
// between T and T + T/8 (at most 1s late).
type watchdog struct {
	clock  clock.Clock
	every  time.Duration
	tick   atomic.Uint32
	limits [phaseCount]uint32 // in ticks; 0: not timed
	pool   uint32             // ticks an idle upstream connection is kept
}

func newWatchdog(c clock.Clock, upstreamTimeout time.Duration) *watchdog {
	every := min(time.Second, readTimeout/8, idleTimeout/8, upstreamTimeout/8, poolIdle/8)
	every = max(every, 10*time.Millisecond)
	d := &watchdog{clock: c, every: every}
	ticks := func(t time.Duration) uint32 {
		// Started anywhere within a tick, a connection is cut at the
		// first tick at least t later.
		return uint32((t+every-1)/every) + 1
	}
	d.limits[phaseOpened] = ticks(readTimeout)
	d.limits[phaseRequest] = ticks(readTimeout)
	d.limits[phaseIdle] = ticks(idleTimeout)
	d.limits[phaseAnswer] = ticks(upstreamTimeout)
	d.pool = ticks(poolIdle)
	return d
}

func (d *watchdog) now() uint32 { return d.tick.Load() }

// run ticks until closing is closed.
func (d *watchdog) run(conns *connSet, up *upstream, closing <-chan struct{}) {
	for {
		t := d.clock.NewTimer(d.every)
		select {
		case <-t.C():
		case <-closing:
			t.Stop()
			return
		}
		now := d.tick.Add(1)
		conns.each(func(w *wireConn) {
			v := w.watch.Load()
			if v == cutMark {
				return
			}
			phase, since := watchPhase(v>>32), uint32(v)
			if lim := d.limits[phase]; lim > 0 && now-since >= lim {
				w.cutIf(v)
			}
		})
		up.prune(now, d.pool)
	}
}
