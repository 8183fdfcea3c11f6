package receiver

import (
	"context"
	"io"
	"net/http"
)

// webhookRequest is what the webhook path reads of a request, whichever
// HTTP front carries it: net/http (Handler, stdRequest) or fasthttp
// (Server, fastRequest). The decisions — verify, dedupe, journal, answer —
// are written once, against this and an http.ResponseWriter.
type webhookRequest interface {
	method() string
	// Path is the URL path; RequestURI adds the query (capture keeps it).
	path() string
	requestURI() string
	remoteAddr() string
	// Header is the first value of the header named key, in any case; ""
	// when absent. The hot path asks for the few it needs by name.
	header(key string) string
	// Peek is header's value for reading during the request only: the fast
	// front returns a view of its read buffer, which the connection's next
	// request overwrites, so the value must not be kept (no receipt, no
	// error text, no map key). For the values checked and dropped
	// (timestamp, signature, attempt): copying them was about half of the
	// receiver's garbage per webhook.
	peek(key string) string
	// Headers is every header, for the schemes, IDFrom and capture, which
	// read them as net/http does (it may allocate a copy).
	headers() http.Header
	// ContentLength is the declared body length, -1 when unknown
	// (chunked).
	contentLength() int64
	body() io.Reader
	// Context ends when the request is abandoned (net/http: the client
	// went away) or the server shuts down.
	context() context.Context
}

// stdRequest is a net/http request seen as a webhookRequest; a pointer
// conversion, so passing one allocates nothing.
type stdRequest http.Request

func (q *stdRequest) std() *http.Request       { return (*http.Request)(q) }
func (q *stdRequest) method() string           { return q.std().Method }
func (q *stdRequest) path() string             { return q.std().URL.Path }
func (q *stdRequest) requestURI() string       { return q.std().URL.RequestURI() }
func (q *stdRequest) remoteAddr() string       { return q.std().RemoteAddr }
func (q *stdRequest) headers() http.Header     { return q.std().Header }
func (q *stdRequest) contentLength() int64     { return q.std().ContentLength }
func (q *stdRequest) body() io.Reader          { return q.std().Body }
func (q *stdRequest) context() context.Context { return q.std().Context() }
func (q *stdRequest) peek(key string) string   { return q.header(key) }
func (q *stdRequest) header(key string) string {
	// Canonical keys (the hot path's) index the map directly, skipping
	// Header.Get's canonicalisation and its allocation.
	if vs := q.std().Header[key]; len(vs) > 0 {
		return vs[0]
	}
	return q.std().Header.Get(key)
}

// withBody is a request whose body is read from another reader (capture
// reads the body first, then hands on the same bytes).
type withBody struct {
	webhookRequest
	rest io.Reader
}

func (q withBody) body() io.Reader { return q.rest }
