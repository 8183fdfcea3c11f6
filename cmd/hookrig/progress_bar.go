package main

import (
	"io"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/hookrig/hookrig/loadgen"
)

// barProgress draws bench's progress bar with mpb on a terminal: the
// drawing lives here, with the terminal, and loadgen only reports.
type barProgress struct {
	mu      sync.Mutex
	text    string
	p       *mpb.Progress
	bar     *mpb.Bar
	refresh chan any
	total   int64
	byCount bool
}

// newBarProgress returns a bar for a run of the given length (or number of
// requests when it has no length; both 0: an open-ended bar) drawn on w,
// which must be a terminal.
func newBarProgress(w io.Writer, total time.Duration, requests uint64) *barProgress {
	b := &barProgress{refresh: make(chan any)}
	b.p = mpb.New(mpb.WithOutput(w), mpb.ForceTTY(), mpb.WithManualRefresh(b.refresh), mpb.WithWidth(100))
	switch {
	case total > 0:
		b.total = total.Milliseconds()
	case requests > 0:
		b.total, b.byCount = int64(requests), true
	}
	b.bar = textBar(b.p, max(b.total, 0), "bench ", func() string {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.text
	})
	return b
}

// textBar adds the bar that run and bench draw to p: name, a 24-column
// bar, then the line text returns (it is called from mpb's goroutine).
func textBar(p *mpb.Progress, total int64, name string, text func() string) *mpb.Bar {
	return p.New(total, mpb.BarStyle().Lbound("[").Rbound("]"),
		mpb.BarWidth(24),
		mpb.PrependDecorators(decor.Name(name)),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return " " + text() })),
	)
}

// Update implements loadgen.Progress.
func (b *barProgress) Update(s loadgen.Snapshot, rate float64) {
	b.mu.Lock()
	b.text = s.Line(rate)
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

// Close implements loadgen.Progress: the bar is drawn one last time and left on
// screen.
func (b *barProgress) Close(s loadgen.Snapshot) {
	b.Update(s, s.AverageRate())
	b.bar.SetTotal(-1, true)
	b.p.Wait()
}
