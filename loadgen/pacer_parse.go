package loadgen

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// PacerSyntax documents the mini-language ParsePacer reads; the CLI prints
// it in its help.
const PacerSyntax = `Pacers (RATE is hits per second: 2000, or per another unit: 50/100ms, 3/m):
  constant:RATE                         evenly spaced, e.g. constant:2000
  linear:FROM..TO[@OVER]                ramp FROM to TO over OVER (default: the run's duration), then hold TO
  steps:R1,R2,...@EACH                  each rate for EACH, then stop, e.g. steps:100,500,1000@10s
  steps:FROM..TO+STEP@EACH              the same as a range, e.g. steps:100..1000+100@10s
  sine:mean=M,amp=A,period=P[,phase=D]  M + A·sin(2πt/P + D°), A <= M
  poisson:RATE                          exponential gaps at a mean rate (seeded by --seed)
  burst:N@EVERY                         N at once every EVERY, e.g. burst:100@1s
  idle                                  nothing (a pause inside a sequence)
  PACER for DUR; PACER for DUR; ...     phases one after another, e.g.
                                        "constant:100 for 10s; linear:100..2000 for 20s; constant:2000 for 30s"`

// ErrPacer marks every error from ParsePacer.
var ErrPacer = errors.New("bad pacer")

// ParsePacer reads the pacer mini-language (PacerSyntax). over is the span a
// linear ramp without @OVER covers (the run's duration); rnd seeds poisson
// pacers and may be nil when none is used.
func ParsePacer(spec string, over time.Duration, rnd *rand.Rand) (Pacer, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, fmt.Errorf("%w: empty (want e.g. constant:2000)", ErrPacer)
	}
	if strings.Contains(spec, ";") || strings.Contains(spec, " for ") {
		return parseSequence(spec, rnd)
	}
	p, err := parseOne(spec, over, rnd)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrPacer, spec, err)
	}
	return p, nil
}

func parseSequence(spec string, rnd *rand.Rand) (Pacer, error) {
	var phases []Phase
	for i, part := range strings.Split(spec, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, d, ok := strings.Cut(part, " for ")
		if !ok {
			return nil, fmt.Errorf("%w: phase %d %q: want PACER for DURATION", ErrPacer, i+1, part)
		}
		dur, err := parseDuration(strings.TrimSpace(d))
		if err != nil {
			return nil, fmt.Errorf("%w: phase %d %q: %v", ErrPacer, i+1, part, err)
		}
		pacer, err := parseOne(strings.TrimSpace(p), dur, rnd)
		if err != nil {
			return nil, fmt.Errorf("%w: phase %d %q: %v", ErrPacer, i+1, part, err)
		}
		phases = append(phases, Phase{Pacer: pacer, Duration: dur})
	}
	if len(phases) == 0 {
		return nil, fmt.Errorf("%w: %q has no phases", ErrPacer, spec)
	}
	return Sequence(phases...), nil
}

func parseOne(spec string, over time.Duration, rnd *rand.Rand) (Pacer, error) {
	kind, args, _ := strings.Cut(spec, ":")
	kind = strings.ToLower(strings.TrimSpace(kind))
	args = strings.TrimSpace(args)
	switch kind {
	case "idle":
		if args != "" {
			return nil, errors.New("idle takes no arguments")
		}
		return Constant(0), nil
	case "constant":
		r, err := parsePositiveRate(args)
		if err != nil {
			return nil, err
		}
		return Constant(r), nil
	case "poisson":
		r, err := parsePositiveRate(args)
		if err != nil {
			return nil, err
		}
		if rnd == nil {
			return nil, errors.New("poisson needs a seeded random source")
		}
		return Poisson(r, rnd), nil
	case "linear":
		return parseLinear(args, over)
	case "steps":
		return parseSteps(args)
	case "sine":
		return parseSine(args)
	case "burst":
		return parseBurst(args)
	case "":
		return nil, errors.New("missing pacer name")
	}
	return nil, fmt.Errorf("unknown pacer %q (want constant, linear, steps, sine, poisson, burst or idle)", kind)
}

func parseLinear(args string, over time.Duration) (Pacer, error) {
	rng, at, hasAt := strings.Cut(args, "@")
	f, t, err := parseRange(rng, "linear:FROM..TO[@OVER], e.g. linear:100..5000")
	if err != nil {
		return nil, err
	}
	if f == 0 && t == 0 {
		return nil, errors.New("a ramp from 0 to 0 sends nothing")
	}
	if hasAt {
		if over, err = parseDuration(at); err != nil {
			return nil, err
		}
	}
	if over <= 0 {
		return nil, errors.New("a ramp needs a length: write linear:FROM..TO@60s or give a run duration")
	}
	return Linear(f, t, over), nil
}

func parseSteps(args string) (Pacer, error) {
	list, at, ok := strings.Cut(args, "@")
	if !ok {
		return nil, errors.New("want steps:R1,R2,...@EACH or steps:FROM..TO+STEP@EACH")
	}
	each, err := parseDuration(at)
	if err != nil {
		return nil, err
	}
	var rates []float64
	if rng, stepS, isRange := strings.Cut(list, "+"); isRange {
		f, t, err := parseRange(rng, "steps:FROM..TO+STEP@EACH, e.g. steps:100..1000+100@10s")
		if err != nil {
			return nil, err
		}
		step, err := parsePositiveRate(stepS)
		if err != nil {
			return nil, err
		}
		if t < f {
			return nil, fmt.Errorf("steps go up: %s", rng)
		}
		if (t-f)/step > 10000 {
			return nil, errors.New("more than 10000 steps")
		}
		for r := f; r <= t+step*1e-9; r += step {
			rates = append(rates, r)
		}
	} else {
		for _, s := range strings.Split(list, ",") {
			r, err := ParseRate(s)
			if err != nil {
				return nil, err
			}
			rates = append(rates, r)
		}
	}
	return Steps(each, rates...), nil
}

func parseSine(args string) (Pacer, error) {
	var p SinePacer
	seen := map[string]bool{}
	for _, kv := range strings.Split(args, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return nil, fmt.Errorf("%q: want key=value (mean, amp, period, phase)", kv)
		}
		k = strings.ToLower(strings.TrimSpace(k))
		var err error
		switch k {
		case "mean":
			p.Mean, err = parsePositiveRate(v)
		case "amp":
			p.Amp, err = ParseRate(v)
		case "period":
			p.Period, err = parseDuration(v)
		case "phase":
			var deg float64
			deg, err = strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil && (math.IsNaN(deg) || math.IsInf(deg, 0)) {
				err = fmt.Errorf("phase %q is not a number of degrees", v)
			}
			p.Phase = deg * math.Pi / 180
		default:
			return nil, fmt.Errorf("unknown sine parameter %q (want mean, amp, period, phase)", k)
		}
		if err != nil {
			return nil, err
		}
		seen[k] = true
	}
	for _, k := range []string{"mean", "amp", "period"} {
		if !seen[k] {
			return nil, fmt.Errorf("sine needs %s= (e.g. sine:mean=1000,amp=500,period=30s)", k)
		}
	}
	if p.Amp > p.Mean {
		return nil, fmt.Errorf("amp %s exceeds mean %s: the rate would go negative", formatRate(p.Amp), formatRate(p.Mean))
	}
	return p, nil
}

func parseBurst(args string) (Pacer, error) {
	n, at, ok := strings.Cut(args, "@")
	if !ok {
		return nil, errors.New("want burst:N@EVERY, e.g. burst:100@1s")
	}
	size, err := strconv.ParseUint(strings.TrimSpace(n), 10, 64)
	if err != nil || size == 0 {
		return nil, fmt.Errorf("burst size %q is not a positive whole number", n)
	}
	every, err := parseDuration(at)
	if err != nil {
		return nil, err
	}
	return BurstPacer{Size: size, Every: every}, nil
}

// parseRange reads FROM..TO, two rates.
func parseRange(s, want string) (from, to float64, err error) {
	a, b, ok := strings.Cut(s, "..")
	if !ok {
		return 0, 0, errors.New("want " + want)
	}
	if from, err = ParseRate(a); err != nil {
		return 0, 0, err
	}
	if to, err = ParseRate(b); err != nil {
		return 0, 0, err
	}
	return from, to, nil
}

// ParseRate reads a rate: a number of hits per second ("2000", "0.5") or
// per another duration ("50/100ms", "3/m", "10/s"). Negative rates and
// anything that is not a finite number are errors.
func ParseRate(s string) (float64, error) {
	s = strings.TrimSpace(s)
	num, per, hasPer := strings.Cut(s, "/")
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("rate %q is not a number (want e.g. 2000 or 50/100ms)", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("rate %q is negative", s)
	}
	if hasPer {
		per = strings.TrimSpace(per)
		if per != "" && (per[0] < '0' || per[0] > '9') {
			per = "1" + per // "s" means "1s"
		}
		d, err := time.ParseDuration(per)
		if err != nil || d <= 0 {
			return 0, fmt.Errorf("rate %q: %q is not a positive duration", s, per)
		}
		v = v / d.Seconds()
	}
	return v, nil
}

func parsePositiveRate(s string) (float64, error) {
	r, err := ParseRate(s)
	if err != nil {
		return 0, err
	}
	if r == 0 {
		return 0, fmt.Errorf("rate %q must be above 0", strings.TrimSpace(s))
	}
	return r, nil
}

func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (want e.g. 10s, 500ms, 2m)", s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("duration %q must be above 0", s)
	}
	return d, nil
}

func formatRate(r float64) string { return strconv.FormatFloat(r, 'f', -1, 64) }
