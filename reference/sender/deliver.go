package sender

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/reference/sender/delivery"
	"github.com/hookrig/hookrig/reference/webhook"
)

// UserAgent identifies the reference sender's requests.
const UserAgent = "hookrig-sender/1"

const (
	// maxDrain is how much of an answer's body is read so that the
	// connection can be reused; past it the connection is dropped.
	maxDrain = 64 << 10
	// maxDetail is how much of a failed answer is kept with the attempt.
	maxDetail = 256
)

// NewTransport returns the HTTP transport the sender uses by default:
// keep-alive with enough idle connections per host for every worker, no
// proxy from the environment (a library does not read it), no
// compression, no redirects (see newClient).
func NewTransport(workers int) *http.Transport {
	return &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   workers,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     true,
	}
}

func newClient(rt http.RoundTripper) *http.Client {
	return &http.Client{
		Transport: rt,
		// A webhook endpoint that redirects is misconfigured; following
		// it would send signed payloads somewhere nobody registered.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// send makes one attempt: signed afresh (new timestamp, same webhook-id),
// with webhook-attempt, bounded by the endpoint's attempt timeout on the
// dispatcher's clock.
func (d *dispatcher) send(ctx context.Context, j *job) (delivery.Outcome, attemptRecord) {
	ep := j.it.ep
	start := d.clock.Now()
	actx, cancel, timedOut := withClockTimeout(ctx, d.clock, ep.policy.AttemptTimeout)
	defer cancel()

	status, retryAfter, detail, err := d.post(actx, ep, j, start)
	elapsed := d.clock.Now().Sub(start)
	o := delivery.Outcome{Status: status, Err: ClassifyError(err, timedOut()), RetryAfter: retryAfter, Elapsed: elapsed}
	if err != nil {
		o.Status = 0
		detail = err.Error()
	}
	return o, attemptRecord{N: j.n, At: unixNano(start), Duration: int64(elapsed),
		Status: uint16(o.Status), Err: string(o.Err), Detail: truncate(detail, maxDetail)}
}

func (d *dispatcher) post(ctx context.Context, ep *endpointRT, j *job, at time.Time) (status int, retryAfter time.Duration, detail string, err error) {
	h := make(http.Header, 8)
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", UserAgent)
	if ep.scheme != nil {
		ep.scheme.Sign(h, j.ev.ID, at, j.ev.Payload)
	} else {
		ep.signer.SetHeaders(h, j.ev.ID, at, j.ev.Payload)
	}
	h.Set(webhook.HeaderAttempt, strconv.Itoa(int(j.n)))
	if d.wire != nil && ep.target != nil {
		return d.postWire(ctx, ep.target, h, j.ev.Payload)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.url, bytes.NewReader(j.ev.Payload))
	if err != nil {
		return 0, 0, "", err
	}
	req.Header = h
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, 0, "", err
	}
	defer resp.Body.Close()
	var head []byte
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		head, _ = io.ReadAll(io.LimitReader(resp.Body, maxDetail))
	}
	// Read the rest so the connection can carry the next attempt. The
	// status is the answer: a body cut short does not change it.
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	if v := resp.Header.Get("Retry-After"); v != "" {
		retryAfter, _ = delivery.ParseRetryAfter(v, d.clock.Now())
	}
	return resp.StatusCode, retryAfter, string(head), nil
}

// postWire is post on the sender's own client, without the http.Request
// and http.Response that http.Client.Do would build and copy per attempt
// (a tenth of the sender's CPU per delivered event in a profile of the
// end-to-end bench). It answers as post does through the client: the
// same status, Retry-After, start of a failed answer, and errors wrapped
// as the client wraps them.
func (d *dispatcher) postWire(ctx context.Context, tg *wireTarget, h http.Header, body []byte) (status int, retryAfter time.Duration, detail string, err error) {
	fr := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(fr)
	cut, err := d.wire.exchange(ctx, tg.addr, false, func(w *bufio.Writer) error {
		return writeRequest(w, http.MethodPost, tg.uri, tg.host, h, false, body)
	}, fr)
	if err != nil {
		return 0, 0, "", &url.Error{Op: "Post", URL: tg.url, Err: err}
	}
	status = fr.StatusCode()
	if (status < 200 || status > 299) && !cut {
		b := fr.Body()
		detail = string(b[:min(len(b), maxDetail)])
	}
	if v := fr.Header.Peek("Retry-After"); len(v) > 0 {
		retryAfter, _ = delivery.ParseRetryAfter(string(v), d.clock.Now())
	}
	return status, retryAfter, detail, nil
}

// wireTarget is an http:// endpoint's URL as the sender's own client
// sends to it, parsed once.
type wireTarget struct {
	url, addr, host, uri string
}

// newWireTarget parses an endpoint's URL for the sender's own client: nil
// for anything but http:// without credentials (those go through
// http.Client).
func newWireTarget(raw string) *wireTarget {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.User != nil || u.Host == "" {
		return nil
	}
	// As http.NewRequest and http.Client name them.
	return &wireTarget{url: u.String(), addr: wireAddr(u), host: strings.TrimSuffix(u.Host, ":"), uri: u.RequestURI()}
}

// wireOf returns the client's transport if it is the sender's own.
func wireOf(c *http.Client) *wireTransport {
	t, _ := c.Transport.(*wireTransport)
	return t
}

// withClockTimeout is context.WithTimeout on a clock.Clock, so a fake
// clock drives attempt timeouts in tests. timedOut reports whether the
// timeout (not the parent) ended the context.
func withClockTimeout(parent context.Context, clk clock.Clock, d time.Duration) (context.Context, context.CancelFunc, func() bool) {
	if _, ok := clk.(clock.Real); ok {
		// The wall clock: the runtime's own timer, without a goroutine
		// per attempt to watch one.
		ctx, cancel := context.WithTimeoutCause(parent, d, context.DeadlineExceeded)
		return ctx, cancel, func() bool { return context.Cause(ctx) == context.DeadlineExceeded && parent.Err() == nil }
	}
	ctx, cancel := context.WithCancelCause(parent)
	t := clk.NewTimer(d)
	done := make(chan struct{})
	go func() {
		select {
		case <-t.C():
			cancel(context.DeadlineExceeded)
		case <-done:
		}
	}()
	stop := func() {
		t.Stop()
		close(done)
		cancel(context.Canceled)
	}
	return ctx, stop, func() bool { return context.Cause(ctx) == context.DeadlineExceeded && parent.Err() == nil }
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
