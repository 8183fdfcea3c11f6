package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// defaultHost is where every hookrig server binds unless told otherwise.
const defaultHost = "127.0.0.1"

// Listen opens a TCP listener capped at defaultMaxConns connections (see
// ListenCapped). An address without a host ("" or ":8080") binds
// loopback, never all interfaces: exposing a chaos proxy or a test
// receiver to the network must be asked for explicitly.
func Listen(addr string) (net.Listener, error) { return ListenCapped(addr, defaultMaxConns) }

// ListenCapped is Listen with a connection cap of maxConns (see
// limitListener); maxConns <= 0 means no cap.
func ListenCapped(addr string, maxConns int) (net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		if addr != "" {
			return nil, fmt.Errorf("listen address %q: want host:port (e.g. 127.0.0.1:0)", addr)
		}
		port = "0"
	}
	if host == "" {
		host = defaultHost
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", net.JoinHostPort(host, port), err)
	}
	if maxConns <= 0 {
		return ln, nil
	}
	return limitListener(ln, maxConns), nil
}

// Serve runs srv on ln until ctx is cancelled, then shuts it down
// gracefully, giving in-flight requests up to grace to finish.
//
// When ln is a *ConnLimiter, Serve tells it which connections are idle
// (srv.ConnState), so that at the cap it closes an idle keep-alive
// connection to make room rather than turn a new client away.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener, grace time.Duration) error {
	if cl, ok := ln.(*ConnLimiter); ok {
		srv.ConnState = cl.TrackState(srv.ConnState)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = srv.Close()
	}
	<-errc
	return err
}

// DefaultReadTimeout bounds reading one request, headers and body, from
// its first byte (a keep-alive connection's wait for the next request is
// IdleTimeout's). The largest body a hookrig server takes is a sender
// ingest batch, 4 MiB by default: a minute lets it arrive at 70 KB/s,
// slower than any link these servers run on (loopback, LAN, CI), while a
// client that stops half-way through its body loses the connection after
// a minute instead of holding it, its goroutine and its buffers for ever.
// It does not bound the handler: net/http clears the read deadline once
// the body is read, so a receiver that processes for longer before it
// answers (ProcessingConfig.BeforeAck) is not cut off.
const DefaultReadTimeout = time.Minute

// DefaultWriteTimeout bounds one exchange from its request's headers to
// the end of its answer (net/http's WriteTimeout): the read timeout, plus
// half a minute for the handler and the answer. A client that asks and
// never reads (a page of receipts, say) loses the connection then, instead
// of pinning the answer's buffers for ever. NewServer derives it from the
// read timeout unless WithWriteTimeout sets it.
const DefaultWriteTimeout = DefaultReadTimeout + 30*time.Second

// writeSlack is what DefaultWriteTimeout adds to the read timeout.
const writeSlack = 30 * time.Second

// DefaultIdleTimeout closes a keep-alive connection that carries no
// request for this long: short enough that idle connections do not pile
// up to the connection cap, long enough for a sender's steady traffic.
const DefaultIdleTimeout = 30 * time.Second

// DefaultMaxHeaderBytes bounds the request line and headers: nothing a
// webhook or an API call needs comes near it, and a megabyte of header is
// a megabyte a server would otherwise parse, keep and maybe echo.
const DefaultMaxHeaderBytes = 64 << 10

// ServerOption changes a server made by NewServer.
type ServerOption func(*http.Server)

// WithReadTimeout replaces DefaultReadTimeout (a server with a larger
// body limit, or a test that wants a stall cut off quickly).
func WithReadTimeout(d time.Duration) ServerOption {
	return func(s *http.Server) { s.ReadTimeout = d }
}

// WithWriteTimeout replaces the write timeout NewServer derives from the
// read timeout (a test that wants a client that never reads cut off
// quickly, a server whose handlers legitimately take longer).
func WithWriteTimeout(d time.Duration) ServerOption {
	return func(s *http.Server) { s.WriteTimeout = d }
}

// NewServer returns an http.Server with limits that keep a slow, stalled
// or greedy client from holding a connection or memory for ever: headers
// within 10 s and at most DefaultMaxHeaderBytes, the whole request within
// DefaultReadTimeout, the whole exchange within the read timeout plus
// 30 s (DefaultWriteTimeout), idle keep-alive connections closed after
// DefaultIdleTimeout. Listen caps the connections.
func NewServer(h http.Handler, opts ...ServerOption) *http.Server {
	s := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       DefaultReadTimeout,
		IdleTimeout:       DefaultIdleTimeout,
		MaxHeaderBytes:    DefaultMaxHeaderBytes,
	}
	for _, o := range opts {
		o(s)
	}
	if s.WriteTimeout == 0 {
		s.WriteTimeout = s.ReadTimeout + writeSlack
	}
	return s
}
