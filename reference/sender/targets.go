package sender

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Where an endpoint may point. A sender posts wherever its clients ask:
// exposed to a network, that makes it a way into the hosts around it
// (server-side request forgery). The guard refuses addresses by range,
// once when the endpoint is created (a literal address, or what its name
// resolves to then) and again at every dial (net.Dialer.Control sees the
// address actually connected to, so a name that resolves elsewhere later,
// DNS rebinding, is still refused).

// AllowPrivateFlag is the command's flag that lets endpoints reach
// loopback and private addresses when the API listens beyond loopback.
const AllowPrivateFlag = "--allow-private"

// refusedRange is a range of addresses and why it is refused.
type refusedRange struct {
	prefix netip.Prefix
	rule   string
}

// alwaysRefused are never a webhook endpoint: the cloud metadata services
// (link-local, and their fixed addresses elsewhere), addresses that mean
// "this host" without saying which interface, multicast and broadcast.
var alwaysRefused = []refusedRange{
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local and cloud metadata addresses (169.254.0.0/16) are never endpoints"},
	{netip.MustParsePrefix("fe80::/10"), "link-local addresses (fe80::/10) are never endpoints"},
	{netip.MustParsePrefix("fd00:ec2::254/128"), "the cloud metadata address fd00:ec2::254 is never an endpoint"},
	{netip.MustParsePrefix("100.100.100.200/32"), "the cloud metadata address 100.100.100.200 is never an endpoint"},
	{netip.MustParsePrefix("0.0.0.0/8"), "0.0.0.0/8 (\"this host\") is never an endpoint"},
	{netip.MustParsePrefix("::/128"), "the unspecified address :: is never an endpoint"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast addresses are never endpoints"},
	{netip.MustParsePrefix("ff00::/8"), "multicast addresses are never endpoints"},
	{netip.MustParsePrefix("255.255.255.255/32"), "the broadcast address is never an endpoint"},
}

// nat64 is the well-known NAT64 prefix (RFC 6052): its addresses carry an
// IPv4 address in their last 32 bits.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// privateRanges are refused when the API is exposed, unless allowed.
var privateRanges = []refusedRange{
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (carrier-grade NAT)"},
	{netip.MustParsePrefix("fc00::/7"), "private (unique local)"},
}

// targetGuard decides which addresses endpoints may reach.
type targetGuard struct {
	refusePrivate bool
}

// checkAddr returns why ip is refused, or nil. IPv4-mapped IPv6
// addresses (::ffff:169.254.169.254) are judged as the IPv4 address they
// carry; a zone (fe80::1%eth0) is refused outright.
func (g targetGuard) checkAddr(ip netip.Addr) error {
	if ip.Zone() != "" {
		return fmt.Errorf("an address with a zone (%%%s) names a local interface; endpoints are never link-local", ip.Zone())
	}
	ip = ip.Unmap()
	if nat64.Contains(ip) {
		// 64:ff9b::a9fe:a9fe reaches 169.254.169.254 through a NAT64
		// gateway: judge the IPv4 address it carries.
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte(b[12:]))
	}
	for _, r := range alwaysRefused {
		if r.prefix.Contains(ip) {
			return fmt.Errorf("%s is refused: %s", ip, r.rule)
		}
	}
	if g.refusePrivate {
		for _, r := range privateRanges {
			if r.prefix.Contains(ip) {
				return fmt.Errorf("%s is refused: %s addresses are refused while the API listens beyond loopback (%s lifts this)", ip, r.rule, AllowPrivateFlag)
			}
		}
	}
	return nil
}

// checkHost judges a URL's host when the endpoint is created: a literal
// address by range, an IPv4 address in any form but the dotted quad
// (2130706433, 0x7f.1, 0177.0.0.1, which resolvers read as addresses) is
// refused, and a name by the addresses it resolves to now. A name that
// does not resolve yet is let through: the dial-time check still guards
// it.
func (g targetGuard) checkHost(ctx context.Context, host string) error {
	if ip, err := netip.ParseAddr(host); err == nil {
		return g.checkAddr(ip)
	}
	if strings.Contains(host, "%") {
		return fmt.Errorf("an address with a zone names a local interface; endpoints are never link-local")
	}
	if oddIPv4(host) {
		return fmt.Errorf("%q reads as an IPv4 address in an unusual form; write it as a dotted quad (e.g. 203.0.113.7)", host)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil
	}
	for _, ip := range ips {
		if err := g.checkAddr(ip); err != nil {
			return fmt.Errorf("%s resolves to %w", host, err)
		}
	}
	return nil
}

// oddIPv4 reports a host whose last label is numeric (decimal, octal or
// 0x hex): no top-level domain is, so resolvers parse it as an address.
func oddIPv4(host string) bool {
	host = strings.TrimSuffix(host, ".")
	last := host[strings.LastIndexByte(host, '.')+1:]
	if last == "" {
		return false
	}
	l := strings.ToLower(last)
	if h, ok := strings.CutPrefix(l, "0x"); ok {
		return strings.Trim(h, "0123456789abcdef") == ""
	}
	return strings.Trim(l, "0123456789") == ""
}

// control is the dialer's last word: it sees the address about to be
// connected to, after any resolution.
func (g targetGuard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &refusedAddrError{fmt.Sprintf("unparsable dial address %q", address)}
	}
	if err := g.checkAddr(ap.Addr()); err != nil {
		return &refusedAddrError{err.Error()}
	}
	return nil
}

// refusedAddrError is a dial the guard stopped.
type refusedAddrError struct{ why string }

func (e *refusedAddrError) Error() string { return "address refused by the sender: " + e.why }

// newGuardedTransport is NewTransport with the guard on every dial.
func newGuardedTransport(workers int, g targetGuard) *http.Transport {
	t := NewTransport(workers)
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: g.control}).DialContext
	return t
}

// checkEndpointURL accepts an absolute http or https URL with a host the
// guard allows and no credentials.
func (g targetGuard) checkEndpointURL(ctx context.Context, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", invalid("url: required (e.g. \"http://127.0.0.1:8080/webhooks\")")
	}
	if len(raw) > MaxURLLen {
		return "", invalid("url: %d bytes is over the limit of %d", len(raw), MaxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", invalid("url: %q is not a URL: %v", truncate(raw, 64), clipErr(err))
	}
	shown := u.Redacted()
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", invalid("url: %q: scheme must be http or https", shown)
	}
	if u.User != nil {
		return "", invalid("url: %q: credentials in a URL are refused (they would be stored and shown); endpoints authenticate by the webhook signature", shown)
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", invalid("url: %q has no host", shown)
	}
	if u.Fragment != "" {
		return "", invalid("url: %q: a fragment (#...) is never sent; remove it", shown)
	}
	if err := g.checkHost(ctx, u.Hostname()); err != nil {
		return "", invalid("url: %v", err)
	}
	return u.String(), nil
}

// clipErr keeps an error's text short: url.Parse quotes the whole input.
func clipErr(err error) string { return truncate(err.Error(), 128) }
