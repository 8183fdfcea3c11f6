package conform

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/loadgen"
	"github.com/hookrig/hookrig/reference/webhook"
	"github.com/hookrig/hookrig/sim/verdict"
)

// Scheme names the signature scheme webhooks are signed with:
// StandardWebhooks, or any name of webhook.SchemeNames ("github",
// "stripe", ...), whose checks that do not apply are skipped with the
// reason (see scheme.go).
type Scheme string

// StandardWebhooks is the default scheme: webhook-id, webhook-timestamp and
// webhook-signature, "v1," HMAC-SHA256 over "id.timestamp.body".
const StandardWebhooks Scheme = "standard-webhooks"

// Defaults of ReceiverOptions, from the figures: the common
// sender timeout, a light steady load and a heavier open-loop one.
const (
	DefaultAckTimeout   = 15 * time.Second
	DefaultFastRate     = 20.0
	DefaultFastDuration = 5 * time.Second
	DefaultFastP99      = time.Second
	DefaultLoadRate     = 200.0
	DefaultLoadDuration = 10 * time.Second
	DefaultLoadP99      = 2 * time.Second
	// MaxLoadRequests bounds ack.under-load whatever the rate and length
	// asked: conform grades, it is not a benchmark (hookrig bench is).
	MaxLoadRequests = 20000
)

// ReceiverOptions configures Receiver. Zero values mean the defaults.
type ReceiverOptions struct {
	// Secret is the endpoint's signing secret ("whsec_..."). Required.
	Secret string
	// Scheme is the signature scheme; "" means StandardWebhooks.
	Scheme Scheme
	// Clock stamps every webhook and times the answers. Required, and it
	// must tell real time (clock.Real): the receiver compares timestamps
	// with its own clock.
	Clock clock.Clock
	// Header is sent with every webhook (an Authorization the endpoint
	// needs in front of it).
	Header []loadgen.Header
	// ReceiptsURL is the endpoint's journal in the reference receiver's
	// GET /v1/receipts format (the one `hookrig run --receipts` reads);
	// without it idempotency.processed-once is skipped.
	ReceiptsURL string
	// Only runs just these check ids; Skip leaves these out. Unknown ids
	// are an error.
	Only, Skip []string
	// AckTimeout bounds every answer (ack.within-timeout). Default 15 s.
	AckTimeout time.Duration
	// FastRate webhooks a second for FastDuration make the light load of
	// ack.fast, whose p99 must be within FastP99.
	FastRate     float64
	FastDuration time.Duration
	FastP99      time.Duration
	// LoadRate webhooks a second for LoadDuration make ack.under-load's
	// open loop, whose p99 must be within LoadP99 (at most
	// MaxLoadRequests webhooks).
	LoadRate     float64
	LoadDuration time.Duration
	LoadP99      time.Duration
	// IDPrefix starts every webhook-id; default "msg_hookrig_conform_"
	// and the start time, so that a receiver never sees an id of an
	// earlier run.
	IDPrefix string
	// Client sends the single webhooks; nil means a client of the
	// package's own. Its redirects are never followed.
	Client *http.Client
	// SkipPreflight leaves out the preflight probe (a test that grades a
	// receiver known to be up).
	SkipPreflight bool
}

// PreflightError is a failed preflight: the endpoint is down, refuses the
// signed probe or redirects, so no check could be graded.
type PreflightError struct{ Probe loadgen.ProbeResult }

func (e *PreflightError) Error() string { return e.Probe.String() }

func (o ReceiverOptions) withDefaults() (ReceiverOptions, error) {
	if o.Scheme == "" || strings.EqualFold(string(o.Scheme), webhook.DefaultScheme) {
		o.Scheme = StandardWebhooks
	}
	if o.Scheme != StandardWebhooks && !slices.Contains(webhook.SchemeNames(), strings.ToLower(string(o.Scheme))) {
		return o, fmt.Errorf("conform: unknown scheme %q (expected %s, or one of %s)", o.Scheme, StandardWebhooks, strings.Join(webhook.SchemeNames(), ", "))
	}
	if o.Clock == nil {
		return o, errors.New("conform: no clock (webhooks are stamped and answers timed with one)")
	}
	if o.Secret == "" {
		return o, errors.New("conform: no secret: give the endpoint's signing secret (whsec_...)")
	}
	for _, d := range []struct {
		v    *time.Duration
		def  time.Duration
		name string
	}{{&o.AckTimeout, DefaultAckTimeout, "ack timeout"}, {&o.FastDuration, DefaultFastDuration, "fast duration"},
		{&o.FastP99, DefaultFastP99, "fast p99"}, {&o.LoadDuration, DefaultLoadDuration, "load duration"}, {&o.LoadP99, DefaultLoadP99, "load p99"}} {
		if *d.v < 0 {
			return o, fmt.Errorf("conform: %s %s is negative", d.name, *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	for _, r := range []struct {
		v    *float64
		def  float64
		name string
	}{{&o.FastRate, DefaultFastRate, "fast rate"}, {&o.LoadRate, DefaultLoadRate, "load rate"}} {
		if !(*r.v >= 0) {
			return o, fmt.Errorf("conform: %s %v: expected webhooks per second > 0", r.name, *r.v)
		}
		if *r.v == 0 {
			*r.v = r.def
		}
	}
	if o.IDPrefix == "" {
		o.IDPrefix = "msg_hookrig_conform_" + strconv.FormatInt(o.Clock.Now().UnixMilli(), 36) + "_"
	}
	if o.ReceiptsURL != "" {
		if u, err := url.Parse(o.ReceiptsURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return o, fmt.Errorf("conform: receipts URL %q is not an http:// or https:// URL", o.ReceiptsURL)
		}
	}
	return o, nil
}

// selected filters catalogue ids by --only and --skip; an id that names
// no check is an error listing the known ones.
func selected(rules []Rule, only, skip []string) (map[string]bool, error) {
	known := map[string]bool{}
	for _, r := range rules {
		known[r.ID] = true
	}
	for _, id := range slices.Concat(only, skip) {
		if !known[id] {
			ids := make([]string, 0, len(rules))
			for _, r := range rules {
				ids = append(ids, r.ID)
			}
			return nil, fmt.Errorf("no check %q (expected one of %s)", id, strings.Join(ids, ", "))
		}
	}
	run := map[string]bool{}
	for _, r := range rules {
		run[r.ID] = (len(only) == 0 || slices.Contains(only, r.ID)) && !slices.Contains(skip, r.ID)
	}
	return run, nil
}

// Receiver grades the receiver at url. It first probes the endpoint with
// one signed webhook (a *PreflightError when that fails), then runs every
// selected check in the catalogue's order. The error is for a run that
// could not be made (bad options, failed preflight, ctx cancelled); a
// receiver that breaks rules is a report with failed checks.
func Receiver(ctx context.Context, endpoint string, opts ReceiverOptions) (verdict.Conformance, error) {
	rep := verdict.Conformance{Target: verdict.ConformReceiver, URL: endpoint}
	opts, err := opts.withDefaults()
	if err != nil {
		return rep, err
	}
	if u, err := url.Parse(endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return rep, fmt.Errorf("conform: %q is not an http:// or https:// URL", endpoint)
	}
	rules := ReceiverRules()
	sel, err := selected(rules, opts.Only, opts.Skip)
	if err != nil {
		return rep, fmt.Errorf("conform: %w", err)
	}
	r := &receiverRun{opts: opts, url: endpoint, client: noRedirects(opts.Client, opts.AckTimeout)}
	if opts.Scheme == StandardWebhooks {
		if r.signer, err = webhook.NewSigner(opts.Secret); err != nil {
			return rep, fmt.Errorf("conform: %w", err)
		}
	} else {
		if r.scheme, err = webhook.NewScheme(string(opts.Scheme), webhook.Options{Secrets: []string{opts.Secret}}); err != nil {
			return rep, fmt.Errorf("conform: %w", err)
		}
		r.desc = webhook.Describe(r.scheme)
	}
	if !opts.SkipPreflight {
		res, err := loadgen.Probe(ctx, endpoint, loadgen.ProbeConfig{Clock: opts.Clock, Signer: r.signer, Scheme: r.scheme, Header: opts.Header, Client: opts.Client})
		if err != nil {
			return rep, err
		}
		if !res.OK() {
			return rep, &PreflightError{res}
		}
	}
	if opts.ReceiptsURL != "" {
		r.journal = newJournal(opts.ReceiptsURL, r.client)
		if err := r.journal.skipToEnd(ctx); err != nil {
			return rep, fmt.Errorf("conform: %w", err)
		}
	}
	for _, rule := range rules {
		o := leftOut()
		if sel[rule.ID] {
			o = rule.grade(ctx, r)
			if err := ctx.Err(); err != nil {
				return rep, fmt.Errorf("conform: %s: %w", rule.ID, err)
			}
		}
		rep.Checks = append(rep.Checks, o.check(rule))
	}
	rep.Seal()
	return rep, nil
}

// noRedirects copies client (or makes one, with no proxy from the
// environment: a library does not read it) so that it never follows a
// redirect: a webhook sender does not, and status.no-redirect must see
// the 3xx.
func noRedirects(client *http.Client, timeout time.Duration) *http.Client {
	var c http.Client
	if client != nil {
		c = *client
	} else {
		c.Transport = &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 8}
	}
	if c.Timeout == 0 {
		c.Timeout = timeout + time.Second // ack.within-timeout measures; the extra second lets it see the overrun
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// receiverRun is one Receiver call's state: how to sign and send, and
// every answer seen (for the checks that grade the whole run).
type receiverRun struct {
	opts    ReceiverOptions
	url     string
	signer  *webhook.Signer // Standard Webhooks; nil with scheme
	scheme  webhook.Scheme  // any other scheme; nil for Standard Webhooks
	desc    webhook.Description
	client  *http.Client
	journal *journal // nil without ReceiptsURL

	mu      sync.Mutex
	seq     int
	answers []answer
	// slowest and redirects come from the load phases, which are not
	// logged one by one.
	loadSlowest   time.Duration
	loadTimeouts  uint64
	loadRedirects uint64
	loadSent      uint64

	redeliveryOnce sync.Once
	redelivery     redeliveryResult
}

// answer is what one webhook got back.
type answer struct {
	label    string // what was sent, for evidence ("signature.valid", "non-JSON body", ...)
	status   int    // 0: no answer
	err      string // why there was no answer
	elapsed  time.Duration
	location string // a 3xx's Location
}

func (a answer) ok() bool       { return a.status >= 200 && a.status <= 299 }
func (a answer) rejected() bool { return a.status >= 400 && a.status <= 499 }

// String is the answer as evidence: "401", "302 to /login", "no answer
// (timeout)".
func (a answer) String() string {
	switch {
	case a.status == 0:
		return "no answer (" + a.err + ")"
	case a.location != "":
		return strconv.Itoa(a.status) + " to " + a.location
	}
	return strconv.Itoa(a.status)
}

// webhook is one crafted request.
type webhookReq struct {
	label  string
	id     string
	at     time.Time
	header http.Header
	body   []byte
}

// nextID is a fresh webhook-id, so that no check's webhook is a duplicate
// of another's unless it means to be.
func (r *receiverRun) nextID() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	return r.opts.IDPrefix + strconv.Itoa(r.seq)
}

// body is a small, well-formed event naming the check that sent it.
func (r *receiverRun) body(check string, now time.Time) []byte {
	return []byte(`{"type":"hookrig.conform","timestamp":"` + now.UTC().Format(time.RFC3339) + `","data":{"check":"` + check + `"}}`)
}

// signed builds a correctly signed webhook of body with id, stamped at.
func (r *receiverRun) signed(label, id string, at time.Time, body []byte) webhookReq {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	for _, x := range r.opts.Header {
		h.Set(x.Name, x.Value)
	}
	if r.scheme != nil {
		body = r.withBodyID(id, body)
		r.scheme.Sign(h, id, at, body)
	} else {
		r.signer.SetHeaders(h, id, at, body)
	}
	return webhookReq{label: label, id: id, at: at, header: h, body: body}
}

// fresh is a correctly signed webhook with a new id, stamped now.
func (r *receiverRun) fresh(label, check string) webhookReq {
	now := r.opts.Clock.Now()
	return r.signed(label, r.nextID(), now, r.body(check, now))
}

// send posts w and records the answer.
func (r *receiverRun) send(ctx context.Context, w webhookReq) answer {
	a := answer{label: w.label}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(w.body))
	if err != nil {
		a.err = err.Error()
		return a
	}
	req.Header = w.header
	req.Header.Set("User-Agent", "hookrig-conform")
	start := r.opts.Clock.Now()
	resp, err := r.client.Do(req)
	a.elapsed = r.opts.Clock.Now().Sub(start)
	if err != nil {
		a.err = transportCause(err)
	} else {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		a.status = resp.StatusCode
		if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
			a.location = resp.Header.Get("Location")
		}
	}
	r.mu.Lock()
	r.answers = append(r.answers, a)
	r.mu.Unlock()
	return a
}

// transportCause names why a webhook got no answer, in a word or two.
func transportCause(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Timeout() {
		return "timeout"
	}
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}
