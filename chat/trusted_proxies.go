package chat

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ErrBadProxy is returned by ParseTrustedProxy for a value that is neither an
// address nor a CIDR prefix.
var ErrBadProxy = errors.New("chat: bad trusted proxy")

// maxForwardedHops bounds how many hops of a forwarding header are looked at.
const maxForwardedHops = 32

// TrustedProxies are the reverse proxies (load balancers, CDN edges, tunnels)
// whose X-Forwarded-For and Forwarded headers are believed. Behind them every
// connection comes from a proxy's address, so without them bans by address and
// viewer counts by address would lump every viewer together. Its ClientIP is
// the Hub's ClientIP and the server's HLS viewer count's.
type TrustedProxies []netip.Prefix

// ParseTrustedProxy parses one --trusted-proxy value: a CIDR prefix
// (10.0.0.0/8, 2001:db8::/32) or a single address. Errors wrap ErrBadProxy.
func ParseTrustedProxy(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q: %v: %w", s, err, ErrBadProxy)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is neither an address nor a CIDR prefix: %w", s, ErrBadProxy)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// trusts reports whether a is one of the proxies.
func (t TrustedProxies) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP returns the address r comes from. That is r's peer address, unless
// the peer is a trusted proxy: then the hops its Forwarded (RFC 7239 "for=")
// header lists, or else its X-Forwarded-For, are walked from the right (the
// hop the proxy saw) leftwards, past every trusted proxy, to the first address
// that is not one. A hop that is not an address ("unknown", an obfuscated
// name, garbage) stops the walk at the proxy that reported it.
func (t TrustedProxies) ClientIP(r *http.Request) string {
	peer := remoteHost(r)
	addr, err := netip.ParseAddr(peer)
	if err != nil || len(t) == 0 || !t.trusts(addr) {
		return peer
	}
	hops := forwardedFor(r.Header.Values("Forwarded"))
	if hops == nil {
		hops = xForwardedFor(r.Header.Values("X-Forwarded-For"))
	}
	client := addr.Unmap()
	for i := len(hops) - 1; i >= 0; i-- {
		hop, ok := parseHop(hops[i])
		if !ok {
			break
		}
		client = hop
		if !t.trusts(hop) {
			break
		}
	}
	return client.String()
}

// forwardedFor returns the for= values of Forwarded header lines, in order
// (nil when there is none).
func forwardedFor(lines []string) []string {
	var hops []string
	for _, line := range lines {
		for _, element := range strings.Split(line, ",") {
			if len(hops) >= maxForwardedHops {
				return hops
			}
			for _, pair := range strings.Split(element, ";") {
				k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "for") {
					hops = append(hops, strings.Trim(strings.TrimSpace(v), `"`))
				}
			}
		}
	}
	return hops
}

// xForwardedFor returns the addresses of X-Forwarded-For header lines, in order.
func xForwardedFor(lines []string) []string {
	var hops []string
	for _, line := range lines {
		for _, h := range strings.Split(line, ",") {
			if len(hops) >= maxForwardedHops {
				return hops
			}
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	return hops
}

// parseHop parses one hop: an address, [IPv6] or either with a port.
func parseHop(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		if a, err := netip.ParseAddr(host); err == nil {
			return a.Unmap(), true
		}
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return a.Unmap(), true
		}
	}
	return netip.Addr{}, false
}
