//go:build !linux

package loadgen

import (
	"context"

	"github.com/hookrig/hookrig/internal/clock"
)

func newWaiter(ctx context.Context, clk clock.Clock, _ bool) waiter {
	return &clockWaiter{ctx: ctx, clk: clk}
}
