package report

import (
	"html/template"
	"image/color"
	"math"
	"strconv"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/hookrig/hookrig/sim/verdict"
)

// percentileChart is the HDR percentile distribution, the way
// HdrHistogram and wrk2 users read latency: the value at each
// percentile, against the percentile on a log 1/(1−p) axis (so 90%,
// 99%, 99.9% are evenly spaced and the tail shows), for the endpoint's
// time to answer and the time to delivery, on a log time axis. "" when
// neither has a value.
func percentileChart(r *verdict.Result) (template.HTML, error) {
	p := plot.New()
	p.Title.Text = "Percentile distribution (HDR): time at each percentile"
	p.X.Label.Text = "percentile"
	p.Y.Label.Text = "ms"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = percentileTicks{}
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	lines := 0
	for _, s := range []struct {
		name string
		hist func() (*hdrhistogram.Histogram, error)
		c    color.Color
	}{
		{"endpoint's time to answer", r.ResponseHistogram, colorAttempted},
		{"time to delivery", r.DeliveryHistogram, colorDelivered},
	} {
		h, err := s.hist()
		if err != nil {
			return "", err
		}
		pts := percentilePoints(h)
		if len(pts) == 0 {
			continue
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return "", err
		}
		l.Color = s.c
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(s.name, l)
		lines++
	}
	if lines == 0 {
		return "", nil
	}
	p.Legend.Top = true
	p.Legend.Left = true
	return svgOf(p)
}

// percentilePoints samples h at 20 points a decade of 1/(1−p), from 0%
// up to the last percentile its count resolves, in milliseconds (at
// least 1 µs, for the log axis).
func percentilePoints(h *hdrhistogram.Histogram) plotter.XYs {
	n := h.TotalCount()
	if n == 0 {
		return nil
	}
	top := math.Log10(float64(n)) // 1/(1−p) up to the count: p = 1 − 1/n
	var pts plotter.XYs
	for k := 0; ; k++ {
		e := float64(k) / 20
		if e > top {
			e = top
		}
		x := math.Pow(10, e)
		q := 100 * (1 - 1/x)
		us := max(h.ValueAtQuantile(q), 1)
		pts = append(pts, plotter.XY{X: x, Y: float64(us) / 1000})
		if e >= top {
			break
		}
	}
	if len(pts) == 1 { // one value: draw it flat to the right
		pts = append(pts, plotter.XY{X: 10, Y: pts[0].Y})
	}
	return pts
}

// percentileTicks label 1/(1−p) at 0%, 50%, 90%, 99%, 99.9% ...
type percentileTicks struct{}

func (percentileTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for _, x := range []float64{1, 2, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7} {
		if x < lo || x > hi {
			continue
		}
		ticks = append(ticks, plot.Tick{Value: x, Label: strconv.FormatFloat(100*(1-1/x), 'f', -1, 64) + "%"})
	}
	return ticks
}
