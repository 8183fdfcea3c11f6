package report

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"

	"github.com/hookrig/hookrig/sim/verdict"
)

// The HTML report's charts, drawn with gonum.org/v1/plot and inlined as
// SVG.

const (
	chartWidth  = 7.5 * vg.Inch
	chartHeight = 3 * vg.Inch
)

var (
	colorAccepted  = color.RGBA{R: 140, G: 140, B: 140, A: 255}
	colorAttempted = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	colorDelivered = color.RGBA{R: 44, G: 160, B: 44, A: 255}
	colorFailed    = color.RGBA{R: 214, G: 39, B: 40, A: 255}
	colorFault     = color.NRGBA{R: 214, G: 39, B: 40, A: 45}
)

// svgOf renders p as an SVG element to inline in HTML (no XML prolog).
func svgOf(p *plot.Plot) (template.HTML, error) {
	wt, err := p.WriterTo(chartWidth, chartHeight, "svg")
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return "", err
	}
	b := buf.Bytes()
	if i := bytes.Index(b, []byte("<svg")); i >= 0 {
		b = b[i:]
	}
	// The SVG is built by gonum from numbers and our own labels, which it
	// escapes, so it is safe to inline.
	return template.HTML(b), nil
}

// barChart draws counts as bars over named categories.
func barChart(title, xLabel, yLabel string, labels []string, counts []float64, c color.Color) (template.HTML, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	width := max(2, min(40, float64(chartWidth)*0.6/float64(len(counts))))
	bars, err := plotter.NewBarChart(plotter.Values(counts), vg.Length(width))
	if err != nil {
		return "", err
	}
	bars.Color = c
	bars.LineStyle.Width = 0
	p.Add(bars)
	p.NominalX(labels...)
	// Up to ~14 short labels fit side by side in small type; rotated
	// labels are clipped by gonum's SVG layout, so rotate only past that.
	p.X.Tick.Label.Font.Size = vg.Points(8)
	if len(labels) > 14 {
		p.X.Tick.Label.Rotation = math.Pi / 4
		p.X.Tick.Label.XAlign = text.XRight
		p.X.Tick.Label.YAlign = text.YCenter
	}
	p.Y.Min = 0
	p.Y.Tick.Marker = plainTicks{}
	return svgOf(p)
}

// latencyChart is the delivery-latency distribution in the text report's
// buckets.
func latencyChart(r *verdict.Result) (template.HTML, error) {
	rows, err := latencyRows(r)
	if err != nil || len(rows) == 0 {
		return "", err
	}
	labels := make([]string, len(rows))
	counts := make([]float64, len(rows))
	for i, row := range rows {
		labels[i] = "≤ " + boundLabel(row.UpperUs)
		counts[i] = float64(row.Count)
	}
	return barChart("Time to delivery (acceptance → first acknowledged receipt)", "", "events", labels, counts, colorDelivered)
}

// attemptsChart is how many events took how many attempts.
func attemptsChart(r *verdict.Result) (template.HTML, error) {
	rows := attemptRows(r.Attempts.PerEvent.Counts, 25)
	if len(rows) == 0 {
		return "", nil
	}
	labels := make([]string, len(rows))
	counts := make([]float64, len(rows))
	for i, row := range rows {
		labels[i], counts[i] = row.label, float64(row.events)
	}
	return barChart("Attempts per event", "attempts", "events", labels, counts, colorAttempted)
}

// timelineChart plots accepted, attempted, delivered and failed per
// second over the run, with the fault windows shaded.
func timelineChart(r *verdict.Result) (template.HTML, error) {
	tl := r.Timeline
	n := len(tl.Accepted)
	if n == 0 {
		return "", nil
	}
	step := float64(tl.StepS)
	unit, scale := "s", 1.0
	switch end := float64(n) * step; {
	case end > 3*3600:
		unit, scale = "h", 3600
	case end > 5*60:
		unit, scale = "min", 60
	}
	p := plot.New()
	p.Title.Text = "Per second over the run (fault windows shaded)"
	p.X.Label.Text = "time since start (" + unit + ")"
	p.Y.Label.Text = "per second"
	p.Legend.Top = true
	p.Legend.XOffs = -vg.Points(12)
	p.Legend.TextStyle.Font.Size = vg.Points(9)

	var ymax float64
	for _, s := range [][]int64{tl.Accepted, tl.Attempted, tl.Delivered, tl.Failed} {
		for _, v := range s {
			ymax = max(ymax, float64(v)/step)
		}
	}
	// Headroom above the busiest line keeps the legend (top right) off
	// the data.
	ymax = max(ymax*1.45, 1)
	for _, f := range r.Faults {
		x0, x1 := f.StartS/scale, f.EndS/scale
		poly, err := plotter.NewPolygon(plotter.XYs{{X: x0, Y: 0}, {X: x1, Y: 0}, {X: x1, Y: ymax}, {X: x0, Y: ymax}})
		if err != nil {
			return "", err
		}
		poly.Color = colorFault
		poly.LineStyle.Width = 0
		p.Add(poly)
	}
	for _, sr := range []struct {
		name string
		s    []int64
		c    color.Color
		dash bool
	}{
		{"accepted", tl.Accepted, colorAccepted, true},
		{"attempted", tl.Attempted, colorAttempted, false},
		{"delivered", tl.Delivered, colorDelivered, false},
		{"failed", tl.Failed, colorFailed, false},
	} {
		xys := make(plotter.XYs, n)
		for i, v := range sr.s {
			xys[i] = plotter.XY{X: float64(i) * step / scale, Y: float64(v) / step}
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return "", err
		}
		line.Color = sr.c
		line.Width = vg.Points(1.2)
		if sr.dash {
			line.Dashes = []vg.Length{vg.Points(3), vg.Points(2)}
		}
		p.Add(line)
		p.Legend.Add(sr.name, line)
	}
	p.X.Min, p.X.Max = 0, float64(n)*step/scale
	p.Y.Min, p.Y.Max = 0, ymax
	p.Y.Tick.Marker = plainTicks{}
	return svgOf(p)
}

// plainTicks is gonum's default ticks with labels written as plainly as
// the value allows ("250", not "250.00").
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'f', -1, 64)
		}
	}
	return ticks
}

// charts renders all three, naming the one that failed.
func charts(r *verdict.Result) (latency, timeline, attempts template.HTML, err error) {
	if latency, err = latencyChart(r); err != nil {
		return "", "", "", fmt.Errorf("latency chart: %w", err)
	}
	if timeline, err = timelineChart(r); err != nil {
		return "", "", "", fmt.Errorf("timeline chart: %w", err)
	}
	if attempts, err = attemptsChart(r); err != nil {
		return "", "", "", fmt.Errorf("attempts chart: %w", err)
	}
	return latency, timeline, attempts, nil
}
