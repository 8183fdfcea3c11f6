//go:build !linux

package schedslice

import "time"

// Set does nothing but check slice: only Linux takes the hint.
func Set(slice time.Duration) error { return Check(slice) }
