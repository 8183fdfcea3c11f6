//go:build !linux

package loadgen

import "net"

func newConnIO(nc net.Conn) connIO { return nc }

// Detached sockets (conn.fd) exist only on Linux.
func closeFD(int) error { return nil }
func shutdownFD(int)    {}
