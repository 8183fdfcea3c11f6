package httpapi

import (
	"net"
	"strings"
	"testing"
)

func TestClipStatesTheLength(t *testing.T) {
	if got := Clip("short", 64); got != "short" {
		t.Errorf("Clip(short) = %q", got)
	}
	got := Clip(strings.Repeat("a", 1_000_000), 64)
	if len(got) > 64+len("…(1000000 bytes)") || !strings.HasSuffix(got, "…(1000000 bytes)") {
		t.Errorf("Clip of 1 MB = %q", got)
	}
	if got := Clip("\xff\xfe"+strings.Repeat("b", 100), 4); !strings.HasPrefix(got, "?") {
		t.Errorf("invalid UTF-8 kept: %q", got)
	}
}

func TestExposed(t *testing.T) {
	for _, c := range []struct {
		ip   string
		want bool
	}{{"127.0.0.1", false}, {"::1", false}, {"0.0.0.0", true}, {"::", true}, {"192.168.1.2", true}} {
		if got := Exposed(&net.TCPAddr{IP: net.ParseIP(c.ip), Port: 1}); got != c.want {
			t.Errorf("Exposed(%s) = %v, want %v", c.ip, got, c.want)
		}
	}
}
