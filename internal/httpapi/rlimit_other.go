//go:build !unix

package httpapi

// RaiseOpenFileLimit has nothing to raise where there is no RLIMIT_NOFILE;
// it reports defaultMaxConns' worth of headroom so ConnCapFor keeps the
// default cap.
func RaiseOpenFileLimit() (uint64, error) { return defaultMaxConns * 2, nil }
