package sender

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/hookrig/hookrig/reference/sender/delivery"
)

func TestClassifyError(t *testing.T) {
	refused := &net.OpError{Op: "dial", Err: &net.AddrError{Err: "x"}}
	cases := []struct {
		err      error
		timedOut bool
		want     delivery.ErrKind
	}{
		{nil, false, delivery.ErrNone},
		{nil, true, delivery.ErrNone},
		{context.Canceled, true, delivery.ErrTimeout},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), false, delivery.ErrRefused},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), false, delivery.ErrReset},
		{fmt.Errorf("post: %w", io.EOF), false, delivery.ErrEOF},
		{io.ErrUnexpectedEOF, false, delivery.ErrEOF},
		{context.DeadlineExceeded, false, delivery.ErrTimeout},
		{errors.New("read tcp: connection reset by peer"), false, delivery.ErrReset},
		{refused, false, delivery.ErrOther},
		{errors.New("tls: bad certificate"), false, delivery.ErrOther},
	}
	for _, c := range cases {
		if got := ClassifyError(c.err, c.timedOut); got != c.want {
			t.Errorf("ClassifyError(%v, %v) = %q, want %q", c.err, c.timedOut, got, c.want)
		}
	}
}
