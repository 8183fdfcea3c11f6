package fault

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Delay is a duration drawn afresh for every request: fixed ("delay"), or
// from a distribution with its parameters. latency and reorder share it.
//
//	{"delay": "200ms"}
//	{"distribution": "uniform",   "min": "50ms", "max": "250ms"}
//	{"distribution": "normal",    "mean": "200ms", "stddev": "50ms"}  (clamped at 0)
//	{"distribution": "lognormal", "median": "200ms", "sigma": 0.5}
//	{"distribution": "pareto",    "scale": "100ms", "shape": 1.5}
//
// "cap" optionally bounds every draw (useful for pareto's long tail).
type Delay struct {
	Fixed        *Duration `json:"delay,omitempty"`        // a fixed delay, or give "distribution"
	Distribution string    `json:"distribution,omitempty"` // uniform, normal, lognormal or pareto
	Min          Duration  `json:"min,omitempty"`          // uniform: the smallest delay
	Max          Duration  `json:"max,omitempty"`          // uniform: the largest delay (above min)
	Mean         Duration  `json:"mean,omitempty"`         // normal: the mean
	Stddev       Duration  `json:"stddev,omitempty"`       // normal: the standard deviation (draws below 0 are 0)
	Median       Duration  `json:"median,omitempty"`       // lognormal: the median
	Sigma        float64   `json:"sigma,omitempty"`        // lognormal: the shape (σ of the underlying normal)
	Scale        Duration  `json:"scale,omitempty"`        // pareto: the smallest delay
	Shape        float64   `json:"shape,omitempty"`        // pareto: the tail index (smaller is heavier)
	Cap          Duration  `json:"cap,omitempty"`          // optional upper bound on every draw
}

func (d *Delay) validate() error {
	if d.Fixed != nil {
		if d.Distribution != "" {
			return errors.New(`give either "delay" or "distribution", not both`)
		}
		return nil
	}
	switch d.Distribution {
	case "":
		return errors.New(`missing "delay" (e.g. "200ms") or "distribution" (uniform, normal, lognormal, pareto)`)
	case "uniform":
		if d.Max <= d.Min {
			return fmt.Errorf("uniform needs max > min, got min %v, max %v", d.Min, d.Max)
		}
	case "normal":
		if d.Mean <= 0 || d.Stddev <= 0 {
			return errors.New(`normal needs a positive "mean" and "stddev"`)
		}
	case "lognormal":
		if d.Median <= 0 || !(d.Sigma > 0) || math.IsInf(d.Sigma, 0) {
			return errors.New(`lognormal needs a positive "median" and "sigma"`)
		}
	case "pareto":
		if d.Scale <= 0 || !(d.Shape > 0) || math.IsInf(d.Shape, 0) {
			return errors.New(`pareto needs a positive "scale" and "shape"`)
		}
	default:
		return fmt.Errorf("unknown distribution %q (want uniform, normal, lognormal or pareto)", d.Distribution)
	}
	return nil
}

// Draw returns one delay. Fixed delays draw nothing; uniform and pareto
// draw one Float64, normal and lognormal one NormFloat64.
func (d *Delay) Draw(rnd *rand.Rand) time.Duration {
	var v float64
	switch d.Distribution {
	case "uniform":
		v = float64(d.Min) + rnd.Float64()*float64(d.Max-d.Min)
	case "normal":
		v = float64(d.Mean) + rnd.NormFloat64()*float64(d.Stddev)
	case "lognormal":
		v = float64(d.Median) * math.Exp(d.Sigma*rnd.NormFloat64())
	case "pareto":
		// Inverse transform with U in (0, 1], so the draw is finite.
		v = float64(d.Scale) * math.Pow(1-rnd.Float64(), -1/d.Shape)
	default:
		if d.Fixed != nil {
			v = float64(*d.Fixed)
		}
	}
	return d.bound(v)
}

// Quantile is the configured distribution's q-quantile (0 < q < 1): what a
// large number of draws should show.
func (d *Delay) Quantile(q float64) time.Duration {
	z := math.Sqrt2 * math.Erfinv(2*q-1) // standard normal quantile
	var v float64
	switch d.Distribution {
	case "uniform":
		v = float64(d.Min) + q*float64(d.Max-d.Min)
	case "normal":
		v = float64(d.Mean) + z*float64(d.Stddev)
	case "lognormal":
		v = float64(d.Median) * math.Exp(d.Sigma*z)
	case "pareto":
		v = float64(d.Scale) * math.Pow(1-q, -1/d.Shape)
	default:
		if d.Fixed != nil {
			v = float64(*d.Fixed)
		}
	}
	return d.bound(v)
}

// bound clamps a draw to [0, cap] and to what a Duration can hold.
func (d *Delay) bound(v float64) time.Duration {
	if v < 0 || math.IsNaN(v) {
		return 0
	}
	if d.Cap > 0 && v > float64(d.Cap) {
		return time.Duration(d.Cap)
	}
	if v >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(v)
}
