package receiver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
	"unsafe"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/hookrig/hookrig/internal/httpapi"
)

// Server serves a Receiver over HTTP/1.1 on fasthttp: webhooks go to the
// same webhook path as Handler's, without net/http's per-request costs (a
// fresh Header map, the background read that watches for a closed
// connection; docs/performance.md); the
// API (/v1/, GET /metrics) is Handler's own net/http handlers, through
// fasthttpadaptor — rare requests, not worth a second copy.
//
// Its limits are httpapi.NewServer's: the whole request within the read
// timeout, the answer within the write timeout, idle keep-alive
// connections closed after httpapi.DefaultIdleTimeout, request line and
// headers at most httpapi.DefaultMaxHeaderBytes (431 past it). The
// listener caps the connections (httpapi.ListenCapped).
type Server struct {
	cfg       ServerConfig
	r         *Receiver
	srv       *fasthttp.Server
	api       fasthttp.RequestHandler
	exchanges sync.Pool // *fastExchange
	// base is every webhook request's context: cancelled when Serve cuts
	// the connections its grace left, as net/http cancels a request's
	// context when its connection closes. (fasthttp's RequestCtx is done
	// as soon as a shutdown begins: processing before the ack would be
	// cut short at once instead of given the grace.)
	base       context.Context
	cancelBase context.CancelFunc
}

// ServerConfig configures a Server. Zero values mean httpapi's defaults.
type ServerConfig struct {
	ReadTimeout  time.Duration // default httpapi.DefaultReadTimeout
	WriteTimeout time.Duration // default the read timeout plus 30 s
	IdleTimeout  time.Duration // default httpapi.DefaultIdleTimeout

	plainConns bool // no awaitConn (BenchmarkWire compares)
}

// NewServer returns a fasthttp server for r.
func (r *Receiver) NewServer(cfg ServerConfig) *Server {
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = httpapi.DefaultReadTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = cfg.ReadTimeout + (httpapi.DefaultWriteTimeout - httpapi.DefaultReadTimeout)
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = httpapi.DefaultIdleTimeout
	}
	s := &Server{cfg: cfg, r: r, api: fasthttpadaptor.NewFastHTTPHandler(r.apiHandler())}
	s.base, s.cancelBase = context.WithCancel(context.Background())
	s.exchanges.New = func() any { return &fastExchange{w: fastWriter{h: http.Header{}}} }
	s.srv = &fasthttp.Server{
		Handler:      s.serve,
		ReadTimeout:  cfg.ReadTimeout,
		WriteTimeout: cfg.WriteTimeout,
		IdleTimeout:  cfg.IdleTimeout,
		// The request line and headers must fit the read buffer: the
		// header limit of every hookrig server.
		ReadBufferSize: httpapi.DefaultMaxHeaderBytes,
		// Bodies are streamed past MaxBody (and when chunked), so that the
		// webhook path, not fasthttp, refuses them: the same 413, counted
		// and journaled, as on net/http. One within the limit is read whole
		// before the handler runs.
		MaxRequestBodySize:           int(min(r.cfg.MaxBody, 1<<30)),
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		CloseOnShutdown:              true,
		SecureErrorLogMessage:        true, // no request bytes in the log
		Logger:                       fastLogger{r.log},
		// No clock read per request for RequestCtx.Time: nothing here
		// reads it (the webhook path reads the receiver's clock).
		LazyRequestTime: true,
	}
	return s
}

// Serve serves on ln until ctx is cancelled, then shuts down gracefully,
// giving requests in flight up to grace to finish (as httpapi.Serve).
// When ln is an *httpapi.ConnLimiter, it is told which connections are
// idle, so that at the cap it closes one of those to make room.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	defer s.cancelBase()
	if cl, ok := ln.(*httpapi.ConnLimiter); ok {
		track := cl.TrackState(nil)
		s.srv.ConnState = func(c net.Conn, st fasthttp.ConnState) { track(c, connState(st)) }
	}
	var conns connSet
	aln := &awaitListener{Listener: ln, conns: &conns, plain: s.cfg.plainConns}
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(aln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Closing the listener first ends Serve even if it had not begun yet
	// (fasthttp's shutdown only stops listeners it has seen).
	ln.Close()
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	// Idle keep-alive connections are closed, the others once answered;
	// past grace, those left are cut.
	err := s.srv.ShutdownWithContext(sctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, net.ErrClosed) {
		err = nil
	}
	n := conns.wait(sctx)
	s.cancelBase()
	if n > 0 {
		s.r.log.Warn("shutdown: connections cut after the grace period", "connections", n, "grace", grace)
	}
	if serr := <-errc; err == nil {
		err = serr
	}
	return err
}

// connState is st in net/http's terms, for httpapi.ConnLimiter.
func connState(st fasthttp.ConnState) http.ConnState {
	switch st {
	case fasthttp.StateNew:
		return http.StateNew
	case fasthttp.StateActive:
		return http.StateActive
	case fasthttp.StateIdle:
		return http.StateIdle
	case fasthttp.StateHijacked:
		return http.StateHijacked
	default:
		return http.StateClosed
	}
}

// serve is the fasthttp handler: the API through net/http's handlers,
// everything else the webhook path.
func (s *Server) serve(ctx *fasthttp.RequestCtx) {
	q := &ctx.Request
	if isAPI(methodString(q.Header.Method()), string(q.URI().Path())) {
		s.api(ctx)
		return
	}
	x := s.exchanges.Get().(*fastExchange)
	x.q.ctx, x.q.base, x.w.ctx = ctx, s.base, ctx
	s.r.webhook(&x.w, &x.q)
	if !x.w.wrote {
		x.w.WriteHeader(http.StatusOK) // as net/http answers a silent handler
	}
	x.q.ctx, x.q.base = nil, nil
	x.q.rd.Reset(nil)
	x.w.ctx, x.w.wrote = nil, false
	clear(x.w.h)
	s.exchanges.Put(x)
}

// methodString is m as a string, without allocating for the usual ones.
func methodString(m []byte) string {
	switch string(m) {
	case http.MethodPost:
		return http.MethodPost
	case http.MethodGet:
		return http.MethodGet
	}
	return string(m)
}

// fastExchange is one webhook request and its answer on fasthttp, pooled.
type fastExchange struct {
	q fastRequest
	w fastWriter
}

// fastRequest is a fasthttp request seen as a webhookRequest.
type fastRequest struct {
	ctx  *fasthttp.RequestCtx
	base context.Context // Server.base
	rd   bytes.Reader    // body(), when fasthttp read the body whole
}

func (q *fastRequest) method() string     { return methodString(q.ctx.Method()) }
func (q *fastRequest) path() string       { return string(q.ctx.Path()) }
func (q *fastRequest) requestURI() string { return string(q.ctx.RequestURI()) }
func (q *fastRequest) remoteAddr() string { return q.ctx.RemoteAddr().String() }

// Header looks key up case-insensitively, as fasthttp does.
func (q *fastRequest) header(key string) string {
	if v := q.ctx.Request.Header.Peek(key); len(v) > 0 {
		return string(v)
	}
	return ""
}

// Peek is header without the copy: valid until the request's answer is
// written (see webhookRequest.peek).
func (q *fastRequest) peek(key string) string {
	v := q.ctx.Request.Header.Peek(key)
	return unsafe.String(unsafe.SliceData(v), len(v))
}

// Headers copies every header into a net/http Header, canonical keys and
// repeated headers kept (the slow path: schemes, IDFrom, capture).
func (q *fastRequest) headers() http.Header {
	h := http.Header{}
	for k, v := range q.ctx.Request.Header.All() {
		key := http.CanonicalHeaderKey(string(k))
		h[key] = append(h[key], string(v))
	}
	return h
}

// ContentLength is -1 for a chunked body, as net/http says.
func (q *fastRequest) contentLength() int64 {
	if n := q.ctx.Request.Header.ContentLength(); n >= 0 {
		return int64(n)
	}
	if q.ctx.Request.Header.ContentLength() == -2 {
		return 0 // neither Content-Length nor chunked: no body
	}
	return -1
}

// Body is the body stream (StreamRequestBody): the bytes read with the
// headers, then the rest from the connection.
func (q *fastRequest) body() io.Reader {
	if s := q.ctx.RequestBodyStream(); s != nil {
		return s
	}
	q.rd.Reset(q.ctx.Request.Body())
	return &q.rd
}

// context ends when the Server cuts the connections left after its
// grace (fasthttp does not watch the client's connection while a handler
// runs).
func (q *fastRequest) context() context.Context { return q.base }

// fastWriter is the http.ResponseWriter the webhook path writes to on
// fasthttp: headers collect in a map reused from request to request, and
// go into the fasthttp response at WriteHeader; the body is appended to
// it, and fasthttp writes the answer once the handler returns.
type fastWriter struct {
	ctx   *fasthttp.RequestCtx
	h     http.Header
	wrote bool
}

func (w *fastWriter) Header() http.Header { return w.h }

func (w *fastWriter) WriteHeader(status int) {
	if w.wrote {
		return
	}
	w.wrote = true
	resp := &w.ctx.Response
	resp.SetStatusCode(status)
	for k, vs := range w.h {
		switch k {
		case "Content-Length": // fasthttp sets it from the body
		case "Content-Type":
			resp.Header.SetContentType(vs[0])
		default:
			for _, v := range vs {
				resp.Header.Add(k, v)
			}
		}
	}
}

func (w *fastWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	w.ctx.Response.AppendBody(p)
	return len(p), nil
}

// ack writes an ack (writeAck): 200, JSON, body.
func (w *fastWriter) ack(body string) {
	w.ctx.Response.Header.SetContentType("application/json")
	w.WriteHeader(http.StatusOK)
	w.ctx.Response.AppendBodyString(body)
}

// Flush does nothing: fasthttp writes the answer as soon as the handler
// returns, which on the webhook path follows the ack at once (processing
// runs on its own workers).
func (w *fastWriter) Flush() {}

// fastLogger hands fasthttp's own messages (connections it could not
// serve: timeouts, malformed requests) to the receiver's logger.
type fastLogger struct{ log *slog.Logger }

func (l fastLogger) Printf(format string, args ...any) {
	l.log.Debug("http", "msg", fmt.Sprintf(format, args...))
}
