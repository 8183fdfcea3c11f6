package loadgen

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

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

// progressLine is the one-line summary both views show.
func progressLine(s Snapshot, rate float64) string {
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

// averageRate is the rate of answers over the whole run, shown at the end.
func averageRate(s Snapshot) float64 {
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
	fmt.Fprintf(l.w, "bench: %s\n", progressLine(s, rate))
}

// Close implements Progress.
func (l *LineProgress) Close(Snapshot) {}

// BarProgress draws a progress bar with mpb on a terminal.
type BarProgress struct {
	mu      sync.Mutex
	text    string
	p       *mpb.Progress
	bar     *mpb.Bar
	refresh chan any
	total   int64
	byCount bool
}

// NewBarProgress returns a bar for a run of the given length (or number of
// requests when it has no length; both 0: an open-ended bar) drawn on w,
// which must be a terminal.
func NewBarProgress(w io.Writer, total time.Duration, requests uint64) *BarProgress {
	b := &BarProgress{refresh: make(chan any)}
	b.p = mpb.New(mpb.WithOutput(w), mpb.ForceTTY(), mpb.WithManualRefresh(b.refresh), mpb.WithWidth(100))
	switch {
	case total > 0:
		b.total = total.Milliseconds()
	case requests > 0:
		b.total, b.byCount = int64(requests), true
	}
	b.bar = b.p.New(max(b.total, 0), mpb.BarStyle().Lbound("[").Rbound("]"),
		mpb.BarWidth(24),
		mpb.PrependDecorators(decor.Name("bench ")),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
			b.mu.Lock()
			defer b.mu.Unlock()
			return " " + b.text
		})),
	)
	return b
}

// Update implements Progress.
func (b *BarProgress) Update(s Snapshot, rate float64) {
	b.mu.Lock()
	b.text = progressLine(s, rate)
	b.mu.Unlock()
	if b.byCount {
		b.bar.SetCurrent(min(int64(s.Sent), b.total))
	} else if b.total > 0 {
		b.bar.SetCurrent(min(s.Elapsed.Milliseconds(), b.total))
	}
	select {
	case b.refresh <- nil:
	default:
	}
}

// Close implements Progress: the bar is drawn one last time and left on
// screen.
func (b *BarProgress) Close(s Snapshot) {
	b.Update(s, averageRate(s))
	b.bar.SetTotal(-1, true)
	b.p.Wait()
}
