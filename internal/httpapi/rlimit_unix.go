//go:build unix

package httpapi

import (
	"fmt"
	"syscall"
)

// RaiseOpenFileLimit raises this process's soft RLIMIT_NOFILE to its hard
// limit and returns the limit now in force. Servers hold a descriptor per
// connection, and a soft limit of 1024 (a common default) is reached long
// before any other resource. Only cmd/hookrig calls it, at start: a
// library changing process limits behind its caller's back would be a
// surprise.
func RaiseOpenFileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("reading the open-file limit: %w", err)
	}
	if lim.Cur >= lim.Max {
		return uint64(lim.Cur), nil
	}
	was := lim.Cur
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return uint64(was), fmt.Errorf("raising the open-file limit from %d to %d: %w", was, lim.Max, err)
	}
	return uint64(lim.Cur), nil
}
