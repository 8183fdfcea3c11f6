// Package neterr names why a request got no answer, in a few transport
// words (timeout, refused, reset, eof, tls, canceled, other), and
// classifies Go's transport errors into them. The reference sender and the
// load generator both classify through it, so an attempt log and a load
// report use the same word for the same failure.
package neterr

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
)

// Kind is a transport failure's name, as written in logs and reports.
type Kind string

const (
	None     Kind = ""         // no error
	Timeout  Kind = "timeout"  // a deadline expired
	Refused  Kind = "refused"  // nobody listened on the port
	Reset    Kind = "reset"    // the connection was reset or aborted
	EOF      Kind = "eof"      // the connection closed before a full answer
	TLS      Kind = "tls"      // the TLS handshake or a certificate failed
	Canceled Kind = "canceled" // the caller gave up (context cancelled)
	Other    Kind = "other"    // anything else (DNS, a malformed answer, ...)
)

// Classify names a transport error. A context cancellation is Canceled:
// only the caller knows whether it was its own timeout (then it should
// say Timeout itself) or a shutdown.
func Classify(err error) Kind {
	var ne net.Error
	switch {
	case err == nil:
		return None
	case errors.Is(err, context.Canceled):
		return Canceled
	case errors.Is(err, syscall.ECONNREFUSED):
		return Refused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED):
		return Reset
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return EOF
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return Timeout
	case isTLS(err):
		return TLS
	}
	// net/http wraps some of these in errors without a chain.
	msg := err.Error()
	switch {
	case strings.Contains(msg, "connection reset"):
		return Reset
	case strings.Contains(msg, "connection refused"):
		return Refused
	case strings.Contains(msg, "server closed idle connection"), strings.Contains(msg, "EOF"):
		return EOF
	}
	return Other
}

func isTLS(err error) bool {
	var rh tls.RecordHeaderError
	var ae tls.AlertError
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &rh) || errors.As(err, &ae) || errors.As(err, &cv) ||
		errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci)
}
