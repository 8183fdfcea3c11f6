package loadgen

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
)

// Progress shows a run as it goes. rate is the rate of answers since the
// previous update.
type Progress interface {
	Update(s Snapshot, rate float64)
	Close(s Snapshot)
}

// Watch updates p from r every interval, on clk, until the returned stop is
// called; stop gives p a last update and closes it.
func Watch(clk clock.Clock, every time.Duration, r *Runner, p Progress) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		prev := r.Snapshot()
		for {
			t := clk.NewTimer(every)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C():
			}
			s := r.Snapshot()
			var rt float64
			if dt := (s.Elapsed - prev.Elapsed).Seconds(); dt > 0 {
				rt = float64(s.Completed-prev.Completed) / dt
			}
			p.Update(s, rt)
			prev = s
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			<-done
			p.Close(r.Snapshot())
		})
	}
}

// Line is the one-line summary a progress view shows: the log lines here
// and the terminal bar cmd/hookrig draws. rate is the rate of answers
// since the previous update.
func (s Snapshot) Line(rate float64) string {
	line := fmt.Sprintf("%s sent %d  rate %s/s", elapsedOf(s), s.Sent, fmtRate(rate))
	if s.AskedRate > 0 {
		line += fmt.Sprintf(" (asked %s/s)", fmtRate(s.AskedRate))
	}
	line += fmt.Sprintf("  in flight %d  errors %d", s.InFlight, s.Errors)
	if s.Non2xx > 0 {
		line += fmt.Sprintf("  non-2xx %d", s.Non2xx)
	}
	if s.P99 > 0 {
		line += "  p99 " + msec(s.P99) + "ms"
	}
	return line
}

func elapsedOf(s Snapshot) string {
	e := s.Elapsed.Truncate(100 * time.Millisecond)
	if s.Total > 0 {
		return fmt.Sprintf("%s/%s", e, s.Total)
	}
	return e.String()
}

func fmtRate(r float64) string {
	if r >= 100 {
		return fmt.Sprintf("%.0f", r)
	}
	return fmt.Sprintf("%.1f", r)
}

// AverageRate is the rate of answers over the whole run, shown at the end.
func (s Snapshot) AverageRate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Completed) / s.Elapsed.Seconds()
}

// LineProgress prints a plain summary line per update, for logs (CI)
// where a progress bar would print nothing.
type LineProgress struct {
	w io.Writer
}

// NewLineProgress returns a LineProgress writing to w.
func NewLineProgress(w io.Writer) *LineProgress { return &LineProgress{w: w} }

// Update implements Progress.
func (l *LineProgress) Update(s Snapshot, rate float64) {
	fmt.Fprintf(l.w, "bench: %s\n", s.Line(rate))
}

// Close implements Progress.
func (l *LineProgress) Close(Snapshot) {}
