package report

import (
	"fmt"
	"math"
	"strconv"

	"github.com/hookrig/hookrig/sim/verdict"
)

// latencyBounds are the upper bounds of the latency histogram's rows, in
// microseconds: 1-2-5 steps below a second, clock-friendly steps above.
var latencyBounds = func() []int64 {
	var b []int64
	for us := int64(1); us < 1e6; us *= 10 {
		b = append(b, us, 2*us, 5*us)
	}
	const s = int64(1e6)
	return append(b, s, 2*s, 5*s, 10*s, 20*s, 30*s, 60*s, 120*s, 300*s, 600*s, 1200*s, 1800*s,
		3600*s, 7200*s, 5*3600*s, 10*3600*s, 86400*s, 2*86400*s, 5*86400*s, 10*86400*s, 30*86400*s)
}()

// latencyRow is one row of a latency histogram: deliveries that took more
// than the previous row's bound and at most UpperUs.
type latencyRow struct {
	UpperUs int64
	Count   int64
}

// latencyRows buckets the result's delivery histogram into latencyBounds,
// from the row holding the fastest delivery to the one holding the
// slowest. HDR buckets are placed by their lowest value, so a row may hold
// values up to 0.1% over its bound.
func latencyRows(r *verdict.Result) ([]latencyRow, error) {
	h, err := r.DeliveryHistogram()
	if err != nil {
		return nil, err
	}
	if h.TotalCount() == 0 {
		return nil, nil
	}
	rows := make([]latencyRow, len(latencyBounds))
	for i, b := range latencyBounds {
		rows[i].UpperUs = b
	}
	lo, hi := len(rows)-1, 0
	for _, bar := range h.Distribution() {
		if bar.Count == 0 {
			continue
		}
		i := len(rows) - 1
		for j, b := range latencyBounds {
			if bar.From <= b {
				i = j
				break
			}
		}
		rows[i].Count += bar.Count
		lo, hi = min(lo, i), max(hi, i)
	}
	return rows[lo : hi+1], nil
}

// boundLabel names a histogram bound: "500 µs", "2 ms", "30 s", "5 min".
func boundLabel(us int64) string {
	switch {
	case us < 1000:
		return fmt.Sprintf("%d µs", us)
	case us < 1e6:
		return fmt.Sprintf("%d ms", us/1000)
	case us < 60e6:
		return fmt.Sprintf("%d s", us/1e6)
	case us < 3600e6:
		return fmt.Sprintf("%d min", us/60e6)
	case us < 86400e6:
		return fmt.Sprintf("%d h", us/3600e6)
	}
	return fmt.Sprintf("%d d", us/86400e6)
}

// fmtMs shows a time in milliseconds with about three significant figures
// in the unit that suits it: "850 µs", "12.3 ms", "1.25 s", "4.5 min".
func fmtMs(ms float64) string {
	switch {
	case ms == 0:
		return "0 ms"
	case ms < 1:
		return fmt.Sprintf("%.0f µs", ms*1000)
	case ms < 1000:
		return sig3(ms) + " ms"
	case ms < 60e3:
		return sig3(ms/1e3) + " s"
	case ms < 3600e3:
		return sig3(ms/60e3) + " min"
	case ms < 48*3600e3:
		return sig3(ms/3600e3) + " h"
	}
	return sig3(ms/86400e3) + " d"
}

// fmtS shows an offset in seconds: "12 s", "1.5 s", "2 min 30 s", "6 h".
func fmtS(s float64) string {
	switch {
	case s < 60:
		return trimFloat(s, 1) + " s"
	case s < 3600:
		m, sec := int(s)/60, int(math.Round(s))%60
		if sec == 0 {
			return fmt.Sprintf("%d min", m)
		}
		return fmt.Sprintf("%d min %d s", m, sec)
	}
	return trimFloat(s/3600, 2) + " h"
}

// sig3 formats x with three significant figures, no exponent.
func sig3(x float64) string {
	switch {
	case x >= 100:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case x >= 10:
		return strconv.FormatFloat(x, 'f', 1, 64)
	}
	return strconv.FormatFloat(x, 'f', 2, 64)
}

// trimFloat formats x with at most prec decimals, dropping trailing zeros.
func trimFloat(x float64, prec int) string {
	return strconv.FormatFloat(math.Round(x*math.Pow10(prec))/math.Pow10(prec), 'f', -1, 64)
}

// percent is n of total as "12.34%", or "" when total is 0.
func percent(n, total int64) string {
	if total == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f%%", 100*float64(n)/float64(total))
}

// plural picks a word's form for n.
func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
