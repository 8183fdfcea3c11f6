package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// DefaultHost is where every hookrig server binds unless told otherwise.
const DefaultHost = "127.0.0.1"

// Listen opens a TCP listener. An address without a host ("" or ":8080")
// binds loopback, never all interfaces: exposing a chaos proxy or a test
// receiver to the network must be asked for explicitly.
func Listen(addr string) (net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		if addr != "" {
			return nil, fmt.Errorf("listen address %q: want host:port (e.g. 127.0.0.1:0)", addr)
		}
		port = "0"
	}
	if host == "" {
		host = DefaultHost
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", net.JoinHostPort(host, port), err)
	}
	return ln, nil
}

// Serve runs srv on ln until ctx is cancelled, then shuts it down
// gracefully, giving in-flight requests up to grace to finish.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener, grace time.Duration) error {
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

// ServerOption changes a server made by NewServer.
type ServerOption func(*http.Server)

// WithReadTimeout replaces DefaultReadTimeout (a server with a larger
// body limit, or a test that wants a stall cut off quickly).
func WithReadTimeout(d time.Duration) ServerOption {
	return func(s *http.Server) { s.ReadTimeout = d }
}

// NewServer returns an http.Server with timeouts that keep a slow or
// stalled client from holding a connection for ever: headers within
// 10 s, the whole request within DefaultReadTimeout, idle keep-alive
// connections closed after 2 minutes.
func NewServer(h http.Handler, opts ...ServerOption) *http.Server {
	s := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       DefaultReadTimeout,
		IdleTimeout:       120 * time.Second,
	}
	for _, o := range opts {
		o(s)
	}
	return s
}
