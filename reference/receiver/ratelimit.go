package receiver

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/hookrig/hookrig/internal/httpapi"
)

// RateLimitConfig puts a token bucket in front of every webhook path, as
// an API gateway's per-customer limit would (nginx limit_req): each path
// (each endpoint of a fleet served by one receiver, /fleet/GROUP/N/...)
// gets PerSecond requests a second on average and Burst at once; a request
// over its path's limit is answered 429 with Retry-After before it is read,
// so the sender, not the event, must slow down. The zero value (PerSecond
// 0) limits nothing.
type RateLimitConfig struct {
	PerSecond float64
	// Burst defaults to PerSecond rounded up (at least 1).
	Burst int
	// RetryAfter is what a 429 asks the sender to wait; whole seconds,
	// default 1s.
	RetryAfter time.Duration
}

// maxLimitedPaths bounds the buckets kept: past it, new paths share one
// bucket, so a client inventing paths cannot grow the receiver's memory.
const maxLimitedPaths = 1 << 16

func (c RateLimitConfig) withDefaults() (RateLimitConfig, error) {
	if c.PerSecond == 0 {
		return c, nil
	}
	if !(c.PerSecond > 0) || math.IsInf(c.PerSecond, 0) || c.Burst < 0 || c.RetryAfter < 0 {
		return c, errors.New("receiver: rate limit per second must be above 0, burst and retry-after not negative")
	}
	if c.Burst == 0 {
		c.Burst = max(1, int(math.Ceil(c.PerSecond)))
	}
	if c.RetryAfter == 0 {
		c.RetryAfter = time.Second
	}
	return c, nil
}

// pathLimiter keeps one token bucket per request path.
type pathLimiter struct {
	cfg        RateLimitConfig
	retryAfter string // the header value, whole seconds
	mu         sync.Mutex
	byPath     map[string]*rate.Limiter
	overflow   *rate.Limiter
}

func newPathLimiter(cfg RateLimitConfig) *pathLimiter {
	if cfg.PerSecond == 0 {
		return nil
	}
	secs := max(1, int64(math.Ceil(cfg.RetryAfter.Seconds())))
	return &pathLimiter{
		cfg:        cfg,
		retryAfter: strconv.FormatInt(secs, 10),
		byPath:     map[string]*rate.Limiter{},
		overflow:   rate.NewLimiter(rate.Limit(cfg.PerSecond), cfg.Burst),
	}
}

// allow takes a token from path's bucket at now (the receiver's clock).
func (p *pathLimiter) allow(path string, now time.Time) bool {
	p.mu.Lock()
	lim, ok := p.byPath[path]
	if !ok {
		lim = p.overflow
		if len(p.byPath) < maxLimitedPaths {
			lim = rate.NewLimiter(rate.Limit(p.cfg.PerSecond), p.cfg.Burst)
			p.byPath[path] = lim
		}
	}
	p.mu.Unlock()
	return lim.AllowN(now, 1)
}

// rateLimited answers a request over its path's limit: 429 with
// Retry-After, journaled as a rejection (the receiving end saw it).
func (r *Receiver) rateLimited(w http.ResponseWriter, rc *Receipt) {
	w.Header().Set("Retry-After", r.limiter.retryAfter)
	r.reject(w, rc, &r.counts.rateLimited, httpapi.Errorf(http.StatusTooManyRequests,
		"rate limited: over %g requests a second on this path; retry after %s s", r.limiter.cfg.PerSecond, r.limiter.retryAfter))
}

// RateLimit is the receiver's per-path limit on its own, for the virtual
// model (sim/virtual), which answers as the receiver does without serving
// HTTP: the same buckets, the same defaults, the same Retry-After.
type RateLimit struct{ l *pathLimiter }

// NewRateLimit makes the limit cfg describes, with the receiver's
// defaults; nil (limiting nothing) when cfg.PerSecond is 0.
func NewRateLimit(cfg RateLimitConfig) (*RateLimit, error) {
	cfg, err := cfg.withDefaults()
	if err != nil || cfg.PerSecond == 0 {
		return nil, err
	}
	return &RateLimit{newPathLimiter(cfg)}, nil
}

// Allow takes a token from path's bucket at now; false: answer 429 with
// RetryAfter.
func (r *RateLimit) Allow(path string, now time.Time) bool { return r.l.allow(path, now) }

// RetryAfter is the Retry-After header value of a 429, whole seconds.
func (r *RateLimit) RetryAfter() string { return r.l.retryAfter }
