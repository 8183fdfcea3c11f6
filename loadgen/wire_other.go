//go:build !linux

package loadgen

import "net"

func newConnIO(nc net.Conn) connIO { return nc }
