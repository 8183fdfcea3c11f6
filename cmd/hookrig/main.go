// Command hookrig tests webhook reliability: reference sender and receiver,
// a chaos proxy, a load generator, scripted scenarios and their
// delivery-guarantee reports. main only wires the process to run, so the
// whole program can be driven from a test.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first Ctrl-C asks for a short drain and the report of what
		// ran; a second one ends the process at once.
		<-ctx.Done()
		stop()
	}()
	// The process's heap, whatever the subcommand: a long-running server
	// gives its free heap back when idle (memory.go), drains included.
	tick := time.NewTicker(idleCollectEvery)
	go releaseIdleHeap(context.Background(), tick.C)
	code := run(ctx, os.Args[1:], newEnv(os.Stdin, os.Stdout, os.Stderr, os.Getenv))
	stop()
	os.Exit(code)
}
