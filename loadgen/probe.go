package loadgen

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/hookrig/hookrig/internal/clock"
	"github.com/hookrig/hookrig/reference/webhook"
)

// A preflight sends one request to a user's endpoint before any load, so
// that a run against an endpoint that is down, misspelled or keyed with
// another secret stops within seconds with the reason, instead of running
// its whole length and reporting every event pending.

// ProbeCause is why a probe got the answer it got.
type ProbeCause string

const (
	ProbeOK       ProbeCause = "ok"       // a 2xx (for HEAD/OPTIONS: any answer that shows the path exists)
	ProbeRefused  ProbeCause = "refused"  // nothing listening on the port
	ProbeDNS      ProbeCause = "dns"      // the host name did not resolve
	ProbeTLS      ProbeCause = "tls"      // the TLS handshake failed (untrusted certificate, not TLS on that port, ...)
	ProbeTimeout  ProbeCause = "timeout"  // no answer within the timeout
	ProbeReset    ProbeCause = "reset"    // the connection was reset
	ProbeClosed   ProbeCause = "closed"   // the connection closed before an answer
	ProbeProtocol ProbeCause = "protocol" // the answer was not HTTP
	ProbeStatus   ProbeCause = "status"   // an HTTP answer that says the endpoint will not take webhooks: see Status
	ProbeOther    ProbeCause = "other"    // any other transport error: see Detail
)

// ProbeHeader marks a probe, so an endpoint (or its logs) can tell it from
// a real event; its webhook-id starts with ProbeIDPrefix.
const (
	ProbeHeader         = "hookrig-probe"
	ProbeIDPrefix       = "msg_hookrig_probe_"
	DefaultProbeTimeout = 5 * time.Second
)

// ProbeConfig says how to probe an endpoint.
type ProbeConfig struct {
	// Clock stamps the webhook and measures Elapsed. Required: the
	// webhook-timestamp must be real time for the endpoint to accept it,
	// so the CLI passes clock.Real.
	Clock clock.Clock
	// Signer signs the probe webhook as a run would; nil sends it
	// unsigned (an endpoint that verifies will then answer 401).
	Signer *webhook.Signer
	// Scheme, when set instead of Signer, signs the probe with another
	// scheme; the probe body then carries its id at "id" (stripe's place).
	Scheme webhook.Scheme
	// Method is POST (the default: a signed probe webhook), or HEAD or
	// OPTIONS for an endpoint that must not receive an event; those only
	// show that the path answers, not that the secret is right.
	Method string
	// Timeout bounds the whole probe, connection to answer (0:
	// DefaultProbeTimeout).
	Timeout time.Duration
	// Header is sent with the probe (an Authorization the endpoint needs).
	Header []Header
	// Client sends the probe; nil means a fresh client of its own. Its
	// redirects are never followed (a copy is used): a webhook sender
	// does not follow them, so neither may the probe.
	Client *http.Client
	// Insecure skips TLS certificate verification (only when Client is
	// nil; a given Client brings its own TLS settings).
	Insecure bool
}

// ProbeResult is what one probe found.
type ProbeResult struct {
	URL     string
	Method  string
	Cause   ProbeCause
	Status  int           // the HTTP status; 0 when there was no answer
	Elapsed time.Duration // from sending to the answer (or the failure)
	Timeout time.Duration // the bound the probe ran under
	// Location is where a 3xx pointed, made absolute.
	Location string
	// Detail is the transport error, or the start of an error answer's
	// body, for a verbose log; "" when there is nothing to add.
	Detail string
	signed bool
}

// OK reports whether the endpoint is fit to receive the run.
func (r ProbeResult) OK() bool { return r.Cause == ProbeOK }

// Slow reports an answer that took over half the probe's timeout: the
// endpoint passed, but a run against it will likely see timeouts.
func (r ProbeResult) Slow() bool { return r.Status != 0 && r.Elapsed > r.Timeout/2 }

// Err is nil when the probe passed, else an error whose text is String.
func (r ProbeResult) Err() error {
	if r.OK() {
		return nil
	}
	return errors.New(r.String())
}

// String says in one line which URL was probed and what it answered, e.g.
// "preflight: http://127.0.0.1:3999/webhooks refused the connection
// (nothing listening?)".
func (r ProbeResult) String() string {
	u := r.URL
	status := strconv.Itoa(r.Status)
	if t := http.StatusText(r.Status); t != "" {
		status += " " + t
	}
	in := ""
	if r.Elapsed > 0 {
		in = " in " + r.Elapsed.Round(time.Millisecond).String()
	}
	var msg string
	switch r.Cause {
	case ProbeOK:
		msg = fmt.Sprintf("%s answered %s %s%s", u, r.Method, status, in)
		if r.Method != http.MethodPost && (r.Status < 200 || r.Status > 299) {
			msg += fmt.Sprintf(" (the path exists; a %s probe is unsigned, so the secret is not checked)", r.Method)
		}
		if r.Slow() {
			msg += fmt.Sprintf(": slow, over half the %s timeout for one tiny webhook; under load its answers may time out", r.Timeout)
		}
	case ProbeRefused:
		msg = u + " refused the connection (nothing listening?)"
	case ProbeDNS:
		msg = fmt.Sprintf("%s: the host name does not resolve (DNS: %s); check the URL's host", u, r.Detail)
	case ProbeTLS:
		msg = fmt.Sprintf("%s: the TLS handshake failed (%s)", u, r.Detail)
		if strings.Contains(r.Detail, notTLS) || strings.Contains(r.Detail, "first record does not look like a TLS handshake") {
			msg = fmt.Sprintf("%s: the server does not speak TLS on this port; is it http:// rather than https://?", u)
		} else if strings.Contains(r.Detail, "certificate") {
			msg += "; the endpoint's certificate is not trusted here: give a trusted one, or skip verification to test anyway"
		}
	case ProbeTimeout:
		msg = fmt.Sprintf("%s did not answer within %s (timeout): the endpoint is stalled or too slow for a webhook", u, r.Timeout)
	case ProbeReset:
		msg = u + " reset the connection before answering"
	case ProbeClosed:
		msg = u + " closed the connection without answering"
	case ProbeProtocol:
		msg = fmt.Sprintf("%s answered something that is not HTTP (%s)", u, r.Detail)
	case ProbeStatus:
		msg = fmt.Sprintf("%s answered %s %s%s: %s", u, r.Method, status, in, r.statusAdvice())
	default:
		msg = fmt.Sprintf("%s: %s", u, r.Detail)
	}
	return "preflight: " + msg
}

// statusAdvice says what an unhealthy status most likely means.
func (r ProbeResult) statusAdvice() string {
	switch s := r.Status; {
	case s == http.StatusNotFound:
		return "no such path on this server; check the URL's path"
	case (s == http.StatusUnauthorized || s == http.StatusForbidden) && r.signed:
		return "the secret is probably wrong (the probe was signed with the run's secret)"
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return "the endpoint wants a signature and the probe was unsigned; give the endpoint's secret"
	case s == http.StatusMethodNotAllowed:
		return fmt.Sprintf("the endpoint does not take %s", r.Method)
	case s >= 300 && s <= 399:
		where := ""
		if r.Location != "" {
			where = " to " + r.Location
		}
		return fmt.Sprintf("a redirect%s, not followed: webhook senders do not follow redirects, so give the final URL", where)
	case s >= 500:
		return "the endpoint failed on the probe webhook; its logs should say why" + r.bodyExcerpt()
	}
	return "the endpoint refused the probe webhook" + r.bodyExcerpt()
}

func (r ProbeResult) bodyExcerpt() string {
	if r.Detail == "" {
		return ""
	}
	return fmt.Sprintf(" (it said %q)", r.Detail)
}

// Probe sends one probe to endpoint and classifies the answer. The error
// is for a probe that could not be made (a malformed URL, a missing clock,
// ctx cancelled); an endpoint that is down or refuses is a result.
func Probe(ctx context.Context, endpoint string, cfg ProbeConfig) (ProbeResult, error) {
	res := ProbeResult{URL: endpoint, Method: strings.ToUpper(cfg.Method), Timeout: cfg.Timeout, signed: cfg.Signer != nil || cfg.Scheme != nil}
	if res.Method == "" {
		res.Method = http.MethodPost
	}
	if res.Timeout <= 0 {
		res.Timeout = DefaultProbeTimeout
	}
	switch {
	case cfg.Clock == nil:
		return res, errors.New("preflight: no clock (the probe is stamped and timed with one)")
	case res.Method != http.MethodPost && res.Method != http.MethodHead && res.Method != http.MethodOptions:
		return res, fmt.Errorf("preflight: method %q; expected POST, HEAD or OPTIONS", cfg.Method)
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return res, fmt.Errorf("preflight: %q is not an http:// or https:// URL", endpoint)
	}
	req, err := probeRequest(ctx, res.Method, endpoint, cfg)
	if err != nil {
		return res, err
	}
	client := probeClient(cfg)
	ctx, cancel := context.WithTimeout(ctx, res.Timeout)
	defer cancel()
	start := cfg.Clock.Now()
	resp, err := client.Do(req.WithContext(ctx))
	res.Elapsed = cfg.Clock.Now().Sub(start)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return res, fmt.Errorf("preflight: %s: %w", endpoint, ctx.Err())
		}
		res.Cause, res.Detail = probeCause(err), probeDetail(err)
		return res, nil
	}
	defer resp.Body.Close()
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 120))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection finish cleanly
	res.Status = resp.StatusCode
	if loc, err := resp.Location(); err == nil {
		res.Location = loc.String() // absolute: the URL to give instead
	}
	res.Cause = statusCause(res.Method, res.Status)
	if res.Cause != ProbeOK {
		res.Detail = printable(excerpt)
	}
	return res, nil
}

// statusCause judges an HTTP answer. A POST probe must be acknowledged as
// a webhook is (2xx); a HEAD or OPTIONS probe carries no event, so any
// answer but a missing path, a redirect or a server error shows the
// endpoint is there (405 is what a POST-only handler says to HEAD).
func statusCause(method string, status int) ProbeCause {
	switch {
	case status >= 200 && status <= 299:
		return ProbeOK
	case method == http.MethodPost, status == http.StatusNotFound, status >= 300 && status <= 399, status >= 500:
		return ProbeStatus
	}
	return ProbeOK
}

// probeRequest builds the probe: a Standard Webhooks message whose id and
// header mark it as a probe, signed when there is a signer.
func probeRequest(ctx context.Context, method, endpoint string, cfg ProbeConfig) (*http.Request, error) {
	now := cfg.Clock.Now()
	id := ProbeIDPrefix + strconv.FormatInt(now.UnixNano(), 36)
	var body []byte
	switch {
	case method != http.MethodPost:
	case cfg.Scheme != nil:
		body = []byte(`{"type":"hookrig.probe","id":"` + id + `","timestamp":"` + now.UTC().Format(time.RFC3339) + `","data":{}}`)
	default:
		body = []byte(`{"type":"hookrig.probe","timestamp":"` + now.UTC().Format(time.RFC3339) + `","data":{}}`)
	}
	req, err := http.NewRequestWithContext(ctx, method, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("preflight: %q: %v", endpoint, err)
	}
	req.Header.Set("User-Agent", "hookrig-preflight")
	req.Header.Set(ProbeHeader, "1")
	for _, h := range cfg.Header {
		if err := h.check(); err != nil {
			return nil, fmt.Errorf("preflight: %w", err)
		}
		req.Header.Set(h.Name, h.Value)
	}
	if method == http.MethodPost {
		if req.Header.Get("Content-Type") == "" {
			req.Header.Set("Content-Type", "application/json")
		}
		switch {
		case cfg.Scheme != nil:
			cfg.Scheme.Sign(req.Header, id, now, body)
		case cfg.Signer != nil:
			cfg.Signer.SetHeaders(req.Header, id, now, body)
		default:
			req.Header.Set(webhook.HeaderID, id)
			req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
		}
	}
	return req, nil
}

// probeClient is cfg.Client (or a client of the probe's own) that does not
// follow redirects.
func probeClient(cfg ProbeConfig) *http.Client {
	var c http.Client
	if cfg.Client != nil {
		c = *cfg.Client
	} else {
		c.Transport = &http.Transport{
			Proxy:             nil, // the endpoint itself, never a proxy from the environment
			DisableKeepAlives: true,
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: cfg.Insecure},
		}
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// probeCause names a transport error with the load generator's own
// classification, plus what only a preflight meets: a name that does not
// resolve, and an answer net/http could not read as HTTP.
func probeCause(err error) ProbeCause {
	var dns *net.DNSError
	if errors.As(err, &dns) && !dns.IsTimeout {
		return ProbeDNS
	}
	switch classify(err, false) {
	case errTimeout:
		return ProbeTimeout
	case errRefused:
		return ProbeRefused
	case errReset:
		return ProbeReset
	case errEOF:
		return ProbeClosed
	case errTLS:
		return ProbeTLS
	}
	switch msg := err.Error(); {
	case strings.Contains(msg, notTLS):
		return ProbeTLS
	case strings.Contains(msg, "malformed HTTP"):
		return ProbeProtocol
	}
	return ProbeOther
}

// notTLS is how net/http says an https:// URL reached a plain HTTP server.
const notTLS = "server gave HTTP response to HTTPS client"

// probeDetail is the innermost useful text of a transport error, without
// net/http's `Post "URL":` wrapping (the message names the URL already).
func probeDetail(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.Err
	}
	return strings.TrimPrefix(err.Error(), "net/http: HTTP/1.x transport connection broken: ")
}

// printable keeps an answer's excerpt to one readable line.
func printable(b []byte) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, string(bytes.ToValidUTF8(b, nil)))
	return strings.TrimSpace(s)
}
