package chaos

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// upstream is where requests go: one keep-alive connection pool to one
// host, with an optional path prefix.
type upstream struct {
	hc   *fasthttp.HostClient
	host string // Host header sent upstream
	base string // path prefix without trailing slash, "" for none
}

func newUpstream(raw string, timeout time.Duration) (*upstream, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("upstream %q: want an http:// or https:// URL such as http://127.0.0.1:9000", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("upstream %q: a query or fragment would be lost: give scheme://host[:port][/path] only", raw)
	}
	addr := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	return &upstream{
		host: u.Host,
		base: strings.TrimSuffix(u.EscapedPath(), "/"),
		hc: &fasthttp.HostClient{
			Addr:                     addr,
			IsTLS:                    u.Scheme == "https",
			NoDefaultUserAgentHeader: true,
			DisablePathNormalizing:   true,
			// One connection per in-flight request; never refuse for lack
			// of connections before the timeout.
			MaxConns:           4096,
			MaxConnWaitTimeout: timeout,
			ReadTimeout:        timeout,
			WriteTimeout:       timeout,
			// No hidden retries (fasthttp retries idempotent methods by
			// default): every copy the upstream gets must be one we
			// meant to send and can count.
			RetryIfErr: func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
		},
	}, nil
}

// prepare points req at the upstream: its Host, its path prefix.
func (u *upstream) prepare(req *fasthttp.Request) {
	req.SetHost(u.host)
	if u.base != "" {
		uri := req.URI()
		uri.SetPath(u.base + string(uri.PathOriginal()))
	}
}

// do sends one copy. The client's "Connection: close" concerns its own
// connection, not the pooled upstream one, so it is lifted for the call.
func (u *upstream) do(req *fasthttp.Request, resp *fasthttp.Response) error {
	closing := req.Header.ConnectionClose()
	if closing {
		req.Header.ResetConnectionClose()
	}
	err := u.hc.Do(req, resp)
	if closing {
		req.Header.SetConnectionClose()
	}
	// Likewise the upstream closing its connection is no reason to close
	// the client's.
	resp.Header.ResetConnectionClose()
	return err
}

// errKind names a transport failure the way the sender's ErrKind does.
func errKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout),
		errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.Is(err, fasthttp.ErrConnectionClosed):
		return "eof"
	}
	return "other"
}
