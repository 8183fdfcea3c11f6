package loadgen

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/hookrig/hookrig/reference/webhook"
)

// Target says where requests go and what they look like on the wire.
type Target struct {
	// URL is the endpoint (endpoint mode) or the reference sender's base
	// URL (ingest mode; /v1/events is added unless the path already
	// names it). http or https.
	URL string
	// Method defaults to POST.
	Method string
	// Header is sent with every request, in order. A Content-Type here
	// replaces the default application/json, a Host the URL's host.
	Header []Header
	// Ingest, when set, is the sender's endpoint id: each event is posted
	// to POST /v1/events as {"id","endpoint","type","key","payload"} so
	// that the sender delivers it, instead of being sent to URL directly.
	Ingest string
	// Fleet and Route spread ingested events over several of the
	// sender's endpoints (a scenario's fleet): event seq is posted for
	// Fleet[Route(seq)]. Ingest is still set (it switches ingest mode
	// on); a Route answer outside Fleet falls back to it.
	Fleet []string
	Route func(seq uint64) int
	// Insecure skips TLS certificate verification.
	Insecure bool
}

// Header is one request header.
type Header struct{ Name, Value string }

// ParseHeader reads "Name: value".
func ParseHeader(s string) (Header, error) {
	name, value, ok := strings.Cut(s, ":")
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if !ok || name == "" {
		return Header{}, fmt.Errorf("header %q: want \"Name: value\"", s)
	}
	h := Header{Name: name, Value: value}
	return h, h.check()
}

func (h Header) check() error {
	if h.Name == "" {
		return fmt.Errorf("header with an empty name")
	}
	for _, c := range h.Name {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, c) {
			return fmt.Errorf("header name %q: %q is not allowed in a header name", h.Name, c)
		}
	}
	if strings.ContainsAny(h.Value, "\r\n\x00") {
		return fmt.Errorf("header %s: the value contains a line break", h.Name)
	}
	return nil
}

// wireTarget is a Target made ready to send: the dialer and the fixed part
// of every request.
type wireTarget struct {
	dial   dialer
	ingest bool
	prefix []byte // request line and fixed headers, each ending in CRLF
	// ingest mode: the JSON around each event
	ingestTail []byte // `","endpoint":"…","type":"…","key":"`
	fleetTails [][]byte
	route      func(seq uint64) int
	signer     *webhook.Signer
	scheme     webhook.Scheme // set instead of signer for other schemes
}

func (t Target) prepare(signer *webhook.Signer, scheme webhook.Scheme, timeout time.Duration) (*wireTarget, error) {
	u, err := url.Parse(t.URL)
	if err != nil {
		return nil, fmt.Errorf("target URL %q: %v", t.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("target URL %q: want http:// or https://", t.URL)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("target URL %q has no host", t.URL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("target URL %q: credentials in the URL are not supported; send an Authorization header", t.URL)
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	} else if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return nil, fmt.Errorf("target URL %q: port %q", t.URL, port)
	}
	w := &wireTarget{dial: dialer{network: "tcp", addr: net.JoinHostPort(u.Hostname(), port), timeout: timeout}}
	if u.Scheme == "https" {
		w.dial.tls = &tls.Config{ServerName: u.Hostname(), InsecureSkipVerify: t.Insecure, NextProtos: []string{"http/1.1"}}
	}
	method := t.Method
	if method == "" {
		method = "POST"
	}
	for _, c := range method {
		if c < 'A' || c > 'Z' {
			return nil, fmt.Errorf("method %q: want an upper-case HTTP method such as POST", method)
		}
	}
	path := u.RequestURI()
	if t.Ingest != "" {
		w.ingest = true
		if signer != nil || scheme != nil {
			return nil, fmt.Errorf("ingest mode: the sender signs what it delivers; a secret here has nothing to sign")
		}
		if p := strings.TrimRight(u.Path, "/"); !strings.HasSuffix(p, "/v1/events") {
			u.Path = p + "/v1/events"
			path = u.RequestURI()
		}
	}
	w.signer, w.scheme = signer, scheme
	b := []byte(method + " " + path + " HTTP/1.1\r\n")
	has := map[string]bool{}
	for _, h := range t.Header {
		if err := h.check(); err != nil {
			return nil, err
		}
		has[strings.ToLower(h.Name)] = true
	}
	reservedHeaders := []string{"content-length", "transfer-encoding", "connection", webhook.HeaderID, webhook.HeaderTimestamp, webhook.HeaderSignature}
	if scheme != nil {
		for _, h := range webhook.Describe(scheme).Headers {
			reservedHeaders = append(reservedHeaders, strings.ToLower(h))
		}
	}
	for _, reserved := range reservedHeaders {
		if has[reserved] {
			return nil, fmt.Errorf("header %s is set by the load generator", reserved)
		}
	}
	if !has["host"] {
		b = append(b, "Host: "+u.Host+"\r\n"...)
	}
	if !has["user-agent"] {
		b = append(b, "User-Agent: hookrig-bench\r\n"...)
	}
	if !has["content-type"] {
		b = append(b, "Content-Type: application/json\r\n"...)
	}
	for _, h := range t.Header {
		b = append(b, h.Name+": "+h.Value+"\r\n"...)
	}
	w.prefix = b
	return w, nil
}

// setIngest fixes the event type and sender endpoint written around each
// ingested event.
func (w *wireTarget) setIngest(t Target, eventType string) {
	ty, _ := json.Marshal(eventType)
	tail := func(endpoint string) []byte {
		ep, _ := json.Marshal(endpoint)
		return []byte(`","endpoint":` + string(ep) + `,"type":` + string(ty) + `,"key":"`)
	}
	w.ingestTail = tail(t.Ingest)
	if t.Route != nil && len(t.Fleet) > 0 {
		w.route = t.Route
		w.fleetTails = make([][]byte, len(t.Fleet))
		for i, ep := range t.Fleet {
			w.fleetTails[i] = tail(ep)
		}
	}
}

// tail is the JSON around event seq in ingest mode: its endpoint's.
func (w *wireTarget) tail(seq uint64) []byte {
	if w.route != nil {
		if i := w.route(seq); i >= 0 && i < len(w.fleetTails) {
			return w.fleetTails[i]
		}
	}
	return w.ingestTail
}

// build writes the request for ev with the given body (the rendered
// payload) into dst. In endpoint mode it carries the Standard Webhooks
// headers (signed when there is a signer); in ingest mode the body is
// wrapped into the sender's event.
func (w *wireTarget) build(dst []byte, ev *event, body []byte, scratch *[]byte) []byte {
	dst = append(dst[:0], w.prefix...)
	if w.ingest {
		b := append((*scratch)[:0], `{"id":"`...)
		b = append(b, ev.id...)
		b = append(b, w.tail(ev.seq)...)
		b = append(b, ev.key...)
		b = append(b, `","payload":`...)
		b = append(b, body...)
		b = append(b, '}')
		*scratch = b
		body = b
	} else if w.scheme != nil {
		wh := wireHeaders(dst)
		w.scheme.Sign(&wh, string(ev.id), ev.at, body)
		dst = wh
	} else {
		ts := ev.at.Unix()
		dst = append(dst, "webhook-id: "...)
		dst = append(dst, ev.id...)
		dst = append(dst, "\r\nwebhook-timestamp: "...)
		dst = strconv.AppendInt(dst, ts, 10)
		dst = append(dst, "\r\n"...)
		if w.signer != nil {
			dst = append(dst, "webhook-signature: "...)
			// The id bytes are not touched while signing: viewing them as
			// a string saves an allocation per request.
			dst = w.signer.AppendSignatures(dst, unsafe.String(unsafe.SliceData(ev.id), len(ev.id)), ts, body)
			dst = append(dst, "\r\n"...)
		}
	}
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(body)), 10)
	dst = append(dst, "\r\n\r\n"...)
	return append(dst, body...)
}

// wireHeaders is a HeaderSetter that writes each header onto the request
// being built, for schemes other than the allocation-free standard one.
type wireHeaders []byte

func (h *wireHeaders) Set(name, value string) {
	*h = append(append(append(append(*h, name...), ": "...), value...), "\r\n"...)
}
