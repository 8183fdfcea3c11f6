//go:build !linux

package schedslice

import "time"

// Set does nothing but check slice: only Linux takes the hint.
func Set(slice time.Duration) error { return Check(slice) }

// Get returns no threads: only Linux keeps a slice per thread.
func Get() (map[int]time.Duration, error) { return nil, nil }
