package conform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/loadgen"
	"github.com/hookrig/hookrig/reference/webhook"
	"github.com/hookrig/hookrig/scenarios"
	"github.com/hookrig/hookrig/sim/verdict"
)

// Defaults of SenderOptions.
const (
	DefaultRetryWindow = 3 * time.Minute
	DefaultRetryAfter  = 2 * time.Second
	DefaultOutage      = 30 * time.Second
	DefaultSettle      = 5 * time.Second
	// silentBound is how long a sender may leave an attempt unanswered
	// before giving up on it (timeout.bounded): the spec's 15-30 s.
	silentBound = 30 * time.Second
)

// SenderOptions configures Sender.
type SenderOptions struct {
	// Secret is the secret the sender signs with ("whsec_..."). Required.
	Secret string
	// Scheme is the signature scheme; "" means StandardWebhooks.
	Scheme Scheme
	// Clock stamps and times everything; it must tell real time.
	Clock clock.Clock
	// Trigger makes the sender emit one event: the same template `hookrig
	// run --trigger` takes. {{.ID}} is the id the webhook must carry as
	// its webhook-id, {{.Endpoint}} the URL it must deliver to (one path
	// per check under Listener's address). Required.
	Trigger *scenarios.Trigger
	// Listener is where hookrig plays the endpoint. Required; Sender
	// closes it.
	Listener net.Listener
	// RetryWindow bounds how long checks wait for retries (default 3 min).
	RetryWindow time.Duration
	// RetryAfter is what the 429 and 503 answers ask for (whole seconds;
	// default 2 s), throttle.endpoint-level's burst of 429s too.
	RetryAfter time.Duration
	// Outage is how long no-loss.outage's endpoint is down (default 30 s).
	Outage time.Duration
	// Settle is how long to watch for attempts that must not come (after
	// a 2xx, after a 410; default 5 s). A run takes at most RetryWindow,
	// three Settles and 15 s: throttle.endpoint-level runs in what the
	// other checks leave of RetryWindow.
	Settle time.Duration
	// Only and Skip select checks by id, as for Receiver.
	Only, Skip []string
	// IDPrefix starts every event id; default "hkc_" and the start time.
	IDPrefix string
	// IDFrom is where an attempt carries hookrig's id ({{.ID}}) when the
	// sender mints its own webhook-ids: a header, or a field of the
	// payload the trigger gave it (json:data.hookrig_id). Attempts are
	// told apart by it; the id checks then grade the sender's own
	// webhook-ids (unique per event, stable across its retries). None:
	// hookrig's id is the webhook-id.
	IDFrom webhook.IDSource
}

func (o SenderOptions) withDefaults() (SenderOptions, error) {
	switch {
	case o.Scheme != "" && o.Scheme != StandardWebhooks:
		return o, fmt.Errorf("conform: scheme %q is not supported yet (expected %q)", o.Scheme, StandardWebhooks)
	case o.Clock == nil:
		return o, errors.New("conform: no clock (attempts are timed with one)")
	case o.Secret == "":
		return o, errors.New("conform: no secret: give the secret your sender signs with (whsec_...)")
	case o.Trigger == nil:
		return o, errors.New("conform: no trigger: a request that makes your sender emit an event (as run --trigger)")
	case o.Listener == nil:
		return o, errors.New("conform: no listener: an address for your sender to deliver to")
	case o.RetryWindow < 0 || o.RetryAfter < 0 || o.Outage < 0 || o.Settle < 0:
		return o, errors.New("conform: retry window, Retry-After, outage and settle must not be negative")
	}
	if err := o.Trigger.Check(); err != nil {
		return o, fmt.Errorf("conform: trigger: %w", err)
	}
	if _, err := webhook.ParseSecret(o.Secret); err != nil {
		return o, fmt.Errorf("conform: %w", err)
	}
	o.Scheme = StandardWebhooks
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.RetryWindow, DefaultRetryWindow)
	def(&o.RetryAfter, DefaultRetryAfter)
	def(&o.Outage, DefaultOutage)
	def(&o.Settle, DefaultSettle)
	o.RetryAfter = max(o.RetryAfter.Round(time.Second), time.Second)
	if o.IDPrefix == "" {
		o.IDPrefix = "hkc_" + strconv.FormatInt(o.Clock.Now().UnixMilli(), 36) + "_"
	}
	return o, nil
}

// SenderRules is the sender catalogue, in report order.
func SenderRules() []Rule {
	return []Rule{
		{ID: "sign.headers", Level: verdict.Must, Spec: specHeaders, Sends: "every attempt: webhook-id, an integer webhook-timestamp and space-separated vN,base64 signatures"},
		{ID: "sign.valid", Level: verdict.Must, Spec: specSignature, Sends: "every attempt: a v1 signature that verifies over the raw body"},
		{ID: "sign.fresh-per-attempt", Level: verdict.Must, Spec: specMetadata, Sends: "every attempt: a timestamp within 5 min of its arrival"},
		{ID: "id.unique", Level: verdict.Must, Spec: specMetadata, Sends: "three events answered 2xx: three distinct ids"},
		{ID: "id.stable-across-retries", Level: verdict.Must, Spec: specMetadata, Sends: "retried events keep their webhook-id"},
		{ID: "body.stable-across-retries", Level: verdict.Must, Spec: specMetadata, Sends: "retried events keep their body"},
		{ID: "retry.on-5xx", Level: verdict.Must, Spec: specDelivery, Sends: "answers 500 once, then 2xx: expects a later attempt"},
		{ID: "retry.on-timeout", Level: verdict.Must, Spec: specDelivery, Sends: "leaves the first attempt unanswered: expects a later attempt"},
		{ID: "retry.on-connection-reset", Level: verdict.Must, Spec: specDelivery, Sends: "resets the first attempt's connection: expects a later attempt"},
		{ID: "success.no-retry", Level: verdict.Must, Spec: specDelivery, Sends: "answers 2xx at once: expects no further attempt"},
		{ID: "retry.backoff", Level: verdict.Should, Spec: "Deliverability and reliability", Sends: "five events answered 500 four times: expects the mean fourth gap ≥ 1.5 × the mean first gap"},
		{ID: "retry.jitter", Level: verdict.Should, Spec: "Deliverability and reliability", Sends: "the same five events, answered 500 at the same moment: expects their retries apart, not in lockstep (at most retry levels a spread ≥ 3% of the gap and ≥ 5 ms)"},
		{ID: "timeout.bounded", Level: verdict.Should, Spec: specTimeouts, Sends: "the unanswered attempt: expects the sender to give up within 30 s"},
		{ID: "retry-after.429", Level: verdict.Must, Spec: specDelivery, Sends: "429 with Retry-After: expects no attempt before it"},
		{ID: "retry-after.503", Level: verdict.Should, Spec: specDelivery, Sends: "503 with Retry-After: expects no attempt before it"},
		{ID: "throttle.endpoint-level", Level: verdict.Should, Spec: specDelivery, Sends: "10 events answered 200, the next 20 answered 429 with Retry-After together, 5 more events: expects none before the Retry-After, then no herd"},
		{ID: "redirect.not-followed", Level: verdict.Should, Spec: specDelivery, Sends: "307 to another path: expects it not followed, and a later attempt"},
		{ID: "no-loss.outage", Level: verdict.Must, Spec: "Deliverability and reliability", Sends: "three events answered 503 (no Retry-After) for --outage: expects each delivered after"},
		{ID: "gone.410-stops", Level: verdict.Must, Spec: specDelivery, Sends: "run last: 410 to an event, then another event: expects no further attempt to the endpoint"},
	}
}

// hit is one attempt that reached hookrig's endpoint.
type hit struct {
	// id is the event's id as hookrig gave it (read by IDFrom); wireID
	// the webhook-id the attempt carried. They are the same unless the
	// sender mints its own ids.
	id, wireID, path     string
	at                   time.Time
	timestamp, signature string
	hasID, hasTS, hasSig bool
	body                 string
	status               int           // what hookrig answered; 0: hung up or reset
	silentFor            time.Duration // an unanswered attempt: until the sender gave up
	answered             time.Time     // when hookrig wrote its answer; zero: none written
}

// script is how hookrig answers one group of events, per attempt n
// (from 1).
type script func(n int, since time.Duration) (status int, header http.Header, action string)

// senderRun is one Sender call's state.
type senderRun struct {
	opts     SenderOptions
	verifier *webhook.Verifier
	base     string // http://ADDR

	mu       sync.Mutex
	groups   map[string]script // by id prefix, without the run prefix
	firstAt  map[string]time.Time
	hits     []hit
	changed  chan struct{} // closed and replaced on every hit
	triggers map[string][]string
	refused  map[string]int
	// gate holds the backoff events' first attempts until all have
	// arrived, so that they fail at the same moment (retry.jitter).
	gate   chan struct{}
	atGate int
	// throttle is throttle.endpoint-level's state.
	throttle throttleRun
}

// throttleRun is what throttle.endpoint-level has seen: its burst of
// 429s is held until all have arrived (or throttleHold has passed since
// the first), so that they are answered at the same moment.
type throttleRun struct {
	gate      chan struct{} // closed when the burst is answered
	holdUntil time.Time     // the first held attempt's arrival + throttleHold
	held      int           // attempts of the burst that arrived
	answered  int           // 429s answered
	lastAt    time.Time     // when the last 429 was answered
	skip      string        // why the check could not run
}

// throttle.endpoint-level's script: the endpoint accepts throttleWarm
// attempts (so the sender sees what it accepts), answers the next
// throttleBurst 429 with Retry-After, together, then throttleLate new
// events are triggered a quarter of the Retry-After later, and every
// further attempt is answered 200. The burst crosses any reasonable
// "mostly 429" threshold (the reference sender's is 18 of the last 20
// answers); the late events are the "other events" a sender that only
// delays each refused event by its own Retry-After sends at once.
const (
	throttleWarm, throttleBurst, throttleLate = 10, 20, 5
	// throttleHold bounds how long the burst's first attempt is held
	// waiting for the others: well under any sender's attempt timeout.
	throttleHold = time.Second
	// throttleSlack is how early an attempt may come before the
	// Retry-After has passed and still count as after it (clocks, and a
	// sender that counts from when it sent the attempt).
	throttleSlack = 250 * time.Millisecond
	// herdWindow is the span the herd is counted in.
	herdWindow = 100 * time.Millisecond
)

// goneWait bounds the wait for the 410 event's first attempt.
const goneWait = 15 * time.Second

// backoffEvents is how many events retry.backoff and retry.jitter watch.
const backoffEvents = 5

// group prefixes, one per event group.
const (
	gOK, g5xx, gTimeout, gReset, gBackoff, g429, g503, gRedirect, gOutage, gGone, gAfterGone = "ok", "e500", "silent", "reset", "backoff", "r429", "r503", "redir", "outage", "gone", "aftergone"
	// gThrottleLate's events go to gThrottle's path: the same endpoint.
	gThrottle, gThrottleLate = "throttle", "throttlelate"
)

// Sender grades the sender that opts.Trigger drives: hookrig answers its
// attempts per check on opts.Listener and grades what arrives within the
// retry window.
func Sender(ctx context.Context, opts SenderOptions) (verdict.Conformance, error) {
	rep := verdict.Conformance{Target: verdict.ConformSender}
	opts, err := opts.withDefaults()
	if err != nil {
		if opts.Listener != nil {
			opts.Listener.Close()
		}
		return rep, err
	}
	r := &senderRun{opts: opts, base: "http://" + opts.Listener.Addr().String(), changed: make(chan struct{}),
		firstAt: map[string]time.Time{}, triggers: map[string][]string{}, refused: map[string]int{}, gate: make(chan struct{}),
		throttle: throttleRun{gate: make(chan struct{})}}
	rep.URL = r.base
	// A huge tolerance: sign.valid grades the signature alone, freshness
	// is sign.fresh-per-attempt's.
	if r.verifier, err = webhook.NewVerifier(50*365*24*time.Hour, opts.Secret); err != nil {
		return rep, fmt.Errorf("conform: %w", err)
	}
	rules := SenderRules()
	sel, err := selected(rules, opts.Only, opts.Skip)
	if err != nil {
		opts.Listener.Close()
		return rep, fmt.Errorf("conform: %w", err)
	}
	r.groups = r.scripts()
	srv := &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(opts.Listener)
	defer srv.Close()

	if err := r.exercise(ctx); err != nil {
		return rep, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rule := range rules {
		o := leftOut()
		if sel[rule.ID] {
			o = r.grade(rule.ID)
		}
		rep.Checks = append(rep.Checks, o.check(rule))
	}
	rep.Seal()
	return rep, nil
}

// scripts answers each event group.
func (r *senderRun) scripts() map[string]script {
	ok := func(int, time.Duration) (int, http.Header, string) { return http.StatusOK, nil, "" }
	failFirst := func(status int, h http.Header, action string) script {
		return func(n int, _ time.Duration) (int, http.Header, string) {
			if n == 1 {
				return status, h, action
			}
			return http.StatusOK, nil, ""
		}
	}
	ra := http.Header{"Retry-After": {strconv.Itoa(int(r.opts.RetryAfter / time.Second))}}
	return map[string]script{
		gOK:       ok,
		g5xx:      failFirst(http.StatusInternalServerError, nil, ""),
		gTimeout:  failFirst(0, nil, "silent"),
		gReset:    failFirst(0, nil, "reset"),
		g429:      failFirst(http.StatusTooManyRequests, ra, ""),
		g503:      failFirst(http.StatusServiceUnavailable, ra, ""),
		gRedirect: failFirst(http.StatusTemporaryRedirect, http.Header{"Location": {r.base + "/redirected"}}, ""),
		gBackoff: func(n int, _ time.Duration) (int, http.Header, string) {
			if n <= 4 {
				return http.StatusInternalServerError, nil, ""
			}
			return http.StatusOK, nil, ""
		},
		gOutage: func(_ int, since time.Duration) (int, http.Header, string) {
			if since < r.opts.Outage {
				return http.StatusServiceUnavailable, nil, ""
			}
			return http.StatusOK, nil, ""
		},
		gGone:      func(int, time.Duration) (int, http.Header, string) { return http.StatusGone, nil, "" },
		gAfterGone: ok,
		// Answered per attempt of the whole endpoint, not per event: see
		// throttleAnswerLocked.
		gThrottle:     ok,
		gThrottleLate: ok,
	}
}

// groupOf says which group an id hookrig triggered belongs to: the run's
// prefix, the group, "_" and the event's number; "" for any other id.
func (r *senderRun) groupOf(id string) string {
	rest, ok := strings.CutPrefix(id, r.opts.IDPrefix)
	if !ok {
		return ""
	}
	g, num, _ := strings.Cut(rest, "_")
	if _, known := r.groups[g]; !known || num == "" || strings.Trim(num, "0123456789") != "" {
		return ""
	}
	return g
}

// eventOf is the event an attempt is for: its id when hookrig triggered
// it, else the only event of the group whose path it came to (a sender
// that changes ids on retries); "" when it cannot be told.
func (r *senderRun) eventOf(h hit) string {
	if r.groupOf(h.id) != "" {
		return h.id
	}
	if g := strings.TrimPrefix(h.path, "/"); r.groups[g] != nil && len(r.triggers[g]) == 1 {
		return r.triggers[g][0]
	}
	return ""
}

// serve is hookrig's endpoint: it records every attempt and answers it
// as its group's script says.
func (r *senderRun) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 4<<20))
	now := r.opts.Clock.Now()
	h := hit{wireID: req.Header.Get(webhook.HeaderID), path: req.URL.Path, at: now, body: string(body),
		timestamp: req.Header.Get(webhook.HeaderTimestamp), signature: req.Header.Get(webhook.HeaderSignature)}
	h.hasID, h.hasTS, h.hasSig = h.wireID != "", h.timestamp != "", h.signature != ""
	h.id = h.wireID
	if !r.opts.IDFrom.IsNone() {
		h.id, _ = r.opts.IDFrom.Extract(req.Header, body) // "" when absent: a stranger, graded as one
	}
	r.mu.Lock()
	ev := r.eventOf(h)
	g := r.groupOf(ev)
	n, k := 1, 1 // k: the attempt's number among gThrottle's
	for _, prev := range r.hits {
		if ev != "" && r.eventOf(prev) == ev && !strings.HasPrefix(prev.path, "/redirected") {
			n++
		}
		if g == gThrottle && r.groupOf(prev.id) == gThrottle {
			k++
		}
	}
	first, seen := r.firstAt[ev]
	if !seen {
		first = now
		r.firstAt[ev] = now
	}
	status, hdr, action := http.StatusOK, http.Header(nil), ""
	if s := r.groups[g]; s != nil && !strings.HasPrefix(req.URL.Path, "/redirected") {
		status, hdr, action = s(n, now.Sub(first))
	}
	if strings.HasPrefix(req.URL.Path, "/redirected") {
		status = http.StatusOK // a followed redirect: recorded, graded by redirect.not-followed
	}
	inBurst := g == gThrottle && k > throttleWarm && k <= throttleWarm+throttleBurst
	if inBurst {
		status, hdr = http.StatusTooManyRequests, http.Header{"Retry-After": {strconv.Itoa(int(r.opts.RetryAfter / time.Second))}}
	}
	idx := len(r.hits)
	h.status = status
	r.hits = append(r.hits, h)
	r.notifyLocked()
	held := g == gBackoff && n == 1
	if held {
		if r.atGate++; r.atGate == backoffEvents {
			close(r.gate)
		}
	}
	var holdFor time.Duration
	if inBurst {
		holdFor = r.throttle.arriveLocked(now)
	}
	r.mu.Unlock()
	if inBurst {
		r.holdBurst(req, holdFor)
	}
	if held {
		t := r.opts.Clock.NewTimer(5 * time.Second) // a sender that sends fewer at once is not held long
		select {
		case <-r.gate:
		case <-t.C():
		case <-req.Context().Done():
		}
		t.Stop()
	}

	switch action {
	case "silent":
		// Hold the attempt unanswered until the sender gives up (or the
		// bound passes, so that a sender without a timeout is graded).
		t := r.opts.Clock.NewTimer(silentBound + 5*time.Second)
		defer t.Stop()
		select {
		case <-req.Context().Done():
		case <-t.C():
		}
		r.mu.Lock()
		r.hits[idx].silentFor = r.opts.Clock.Now().Sub(now)
		r.notifyLocked()
		r.mu.Unlock()
		return
	case "reset":
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				if tc, ok := conn.(*net.TCPConn); ok {
					tc.SetLinger(0) // close with a RST, not a FIN
				}
				conn.Close()
				return
			}
		}
		status = http.StatusBadGateway
	}
	for k, v := range hdr {
		w.Header()[k] = v
	}
	// A retry's gap is measured from here, not from the attempt's arrival:
	// held answers are written one after another, and that skew is not the
	// sender's (retry.jitter).
	r.mu.Lock()
	r.hits[idx].answered = r.opts.Clock.Now()
	r.mu.Unlock()
	w.WriteHeader(status)
}

// arriveLocked counts an attempt of the burst in and says how long it may
// wait for the rest.
func (t *throttleRun) arriveLocked(now time.Time) time.Duration {
	if t.held == 0 {
		t.holdUntil = now.Add(throttleHold)
	}
	if t.held++; t.held == throttleBurst {
		t.releaseLocked()
	}
	return t.holdUntil.Sub(now)
}

func (t *throttleRun) releaseLocked() {
	select {
	case <-t.gate:
	default:
		close(t.gate)
	}
}

// holdBurst holds an attempt of the burst until the whole burst has
// arrived or the hold has run out, then counts its 429 as answered now.
func (r *senderRun) holdBurst(req *http.Request, d time.Duration) {
	t := r.opts.Clock.NewTimer(max(d, 0))
	select {
	case <-r.throttle.gate:
	case <-t.C():
	case <-req.Context().Done():
	}
	t.Stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.throttle.releaseLocked() // the hold ran out: the rest are answered on arrival
	r.throttle.answered++
	r.throttle.lastAt = r.opts.Clock.Now()
	r.notifyLocked()
}

func (r *senderRun) notifyLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// waitFor waits until done (called under the lock) holds, or until d
// passes; it reports whether done held.
func (r *senderRun) waitFor(ctx context.Context, d time.Duration, done func() bool) bool {
	t := r.opts.Clock.NewTimer(d)
	defer t.Stop()
	for {
		r.mu.Lock()
		ok, ch := done(), r.changed
		r.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-t.C():
			r.mu.Lock()
			defer r.mu.Unlock()
			return done()
		case <-ctx.Done():
			return false
		}
	}
}

// trigger makes the sender emit n events of group g, through the trigger
// template with {{.Endpoint}} at g's own path.
func (r *senderRun) trigger(ctx context.Context, g string, n int) error {
	return r.triggerAt(ctx, g, g, n)
}

// triggerAt is trigger with {{.Endpoint}} at path instead.
func (r *senderRun) triggerAt(ctx context.Context, g, path string, n int) error {
	t := r.opts.Trigger.Expand(r.base + "/" + path)
	cfg := loadgen.Config{
		Target: loadgen.Target{URL: t.URL, Method: t.Method}, Pacer: loadgen.Constant(100), Requests: uint64(n),
		IDPrefix: r.opts.IDPrefix + g + "_", EventType: "hookrig.conform", Clock: r.opts.Clock, RealTime: true,
		Timeout: 10 * time.Second,
		OnSent: func(s loadgen.Sent) {
			r.mu.Lock()
			defer r.mu.Unlock()
			if s.Status >= 200 && s.Status <= 299 {
				r.triggers[g] = append(r.triggers[g], s.ID)
			} else {
				r.refused[g]++
			}
		},
	}
	for name, v := range t.Headers {
		cfg.Target.Header = append(cfg.Target.Header, loadgen.Header{Name: name, Value: v})
	}
	var err error
	if cfg.Payload, err = loadgen.NewTemplatePayload("trigger body", t.Body, 0); err != nil {
		return fmt.Errorf("conform: trigger: %w", err)
	}
	lg, err := loadgen.New(cfg)
	if err != nil {
		return fmt.Errorf("conform: trigger: %w", err)
	}
	_, err = lg.Run(ctx)
	return err
}

// exercise triggers every group, waits for the sender to deliver them
// (or the retry window to pass), then the destructive 410 last.
func (r *senderRun) exercise(ctx context.Context) error {
	counts := []struct {
		g string
		n int
	}{{gOK, 3}, {g5xx, 1}, {gTimeout, 1}, {gReset, 1}, {gBackoff, backoffEvents}, {g429, 1}, {g503, 1}, {gRedirect, 1}, {gOutage, 3}}
	for _, c := range counts {
		if err := r.trigger(ctx, c.g, c.n); err != nil {
			return err
		}
	}
	r.mu.Lock()
	refused, total := 0, 0
	for _, c := range counts {
		refused, total = refused+r.refused[c.g], total+c.n
	}
	r.mu.Unlock()
	if refused == total { // every trigger refused: the trigger is wrong, not the sender
		return errors.New("conform: the trigger was refused for every event; check its URL, headers and body")
	}
	deadline := r.opts.Clock.Now().Add(r.opts.RetryWindow)
	r.waitFor(ctx, r.opts.RetryWindow, func() bool {
		for _, c := range counts {
			if r.groupSettledLocked(c.g) < len(r.triggers[c.g]) {
				return false
			}
		}
		return true
	})
	// success.no-retry: watch a while for attempts that must not come.
	r.waitFor(ctx, r.opts.Settle, func() bool { return false })
	if err := r.exerciseThrottle(ctx, deadline); err != nil {
		return err
	}
	if err := r.trigger(ctx, gGone, 1); err != nil {
		return err
	}
	// Its first attempt comes at once from a healthy sender: a bounded
	// wait keeps the whole run within the retry window and 30 s.
	r.waitFor(ctx, goneWait, func() bool {
		for _, id := range r.triggers[gGone] {
			if r.attemptsLocked(id) > 0 {
				return true
			}
		}
		return len(r.triggers[gGone]) == 0
	})
	// The sender gets a moment to take in the 410 before the next event.
	r.waitFor(ctx, r.opts.Settle, func() bool { return false })
	if err := r.trigger(ctx, gAfterGone, 1); err != nil {
		return err
	}
	r.waitFor(ctx, r.opts.Settle, func() bool { return false })
	return ctx.Err()
}

// exerciseThrottle runs throttle.endpoint-level's script (see
// throttleWarm) in what is left of the retry window, alone: where the
// sender has one endpoint for every check, its throttling would slow the
// others' retries.
func (r *senderRun) exerciseThrottle(ctx context.Context, deadline time.Time) error {
	ra := r.opts.RetryAfter
	left := deadline.Sub(r.opts.Clock.Now())
	if need := 2*ra + 3*time.Second; left < need {
		r.mu.Lock()
		r.throttle.skip = fmt.Sprintf("the other checks left %s of the %s retry window; it needs %s", ms(max(left, 0)), r.opts.RetryWindow, need)
		r.mu.Unlock()
		return nil
	}
	if err := r.triggerAt(ctx, gThrottle, gThrottle, throttleWarm+throttleBurst); err != nil {
		return err
	}
	answered := r.waitFor(ctx, deadline.Sub(r.opts.Clock.Now()), func() bool { return r.throttle.answered >= throttleBurst })
	if !answered {
		return ctx.Err()
	}
	// Other events, while the endpoint is rate limiting: a quarter of
	// the Retry-After later, once the sender has taken the 429s in.
	r.waitFor(ctx, ra/4, func() bool { return false })
	if err := r.triggerAt(ctx, gThrottleLate, gThrottle, throttleLate); err != nil {
		return err
	}
	r.waitFor(ctx, deadline.Sub(r.opts.Clock.Now()), func() bool {
		return r.groupSettledLocked(gThrottle)+r.groupSettledLocked(gThrottleLate) >= len(r.triggers[gThrottle])+len(r.triggers[gThrottleLate])
	})
	return ctx.Err()
}

// deliveredLocked says whether an event was answered 2xx at its own URL.
func (r *senderRun) deliveredLocked(id string) bool {
	for _, h := range r.attemptsOf(id) {
		if h.status >= 200 && h.status <= 299 {
			return true
		}
	}
	return false
}

// settledLocked says whether an event needs no more waiting: delivered,
// or its redirect followed (redirect.not-followed grades that).
func (r *senderRun) settledLocked(id string) bool {
	if r.deliveredLocked(id) {
		return true
	}
	for _, h := range r.hits {
		if h.id == id && strings.HasPrefix(h.path, "/redirected") {
			return true
		}
	}
	return false
}

// groupSettledLocked counts the events of group g that need no more
// waiting; 2xx answers at the group's path to ids hookrig never triggered
// count too (a sender that changes ids on retries still delivers).
func (r *senderRun) groupSettledLocked(g string) int {
	n := 0
	for _, id := range r.triggers[g] {
		if r.settledLocked(id) {
			n++
		}
	}
	if len(r.triggers[g]) == 1 {
		return n // attemptsOf already counts the strangers at its path
	}
	for _, h := range r.hits {
		if h.path == "/"+g && r.groupOf(h.id) == "" && h.status >= 200 && h.status <= 299 {
			n++
		}
	}
	return min(n, len(r.triggers[g]))
}

func (r *senderRun) attemptsLocked(id string) int { return len(r.attemptsOf(id)) }

// attemptsOf lists an event's attempts in arrival order: those carrying
// its id, and, when it is the only event of its group, those at its
// group's path with an id hookrig never triggered (a sender that changes
// the id on a retry; id.stable-across-retries fails it, the retry checks
// still see the retry).
func (r *senderRun) attemptsOf(id string) []hit {
	g := r.groupOf(id)
	alone := g != "" && len(r.triggers[g]) == 1
	var out []hit
	for _, h := range r.hits {
		if strings.HasPrefix(h.path, "/redirected") {
			continue
		}
		if h.id == id || (alone && h.path == "/"+g && r.groupOf(h.id) == "" && h.id != id) {
			out = append(out, h)
		}
	}
	return out
}
