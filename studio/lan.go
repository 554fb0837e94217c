package studio

import "net"

// LANAddress returns the first non-loopback IPv4 address among addrs
// (as returned by net.InterfaceAddrs), or "127.0.0.1".
func LANAddress(addrs []net.Addr) string {
	for _, a := range addrs {
		var ip net.IP
		switch v := a.(type) {
		case *net.IPNet:
			ip = v.IP
		case *net.IPAddr:
			ip = v.IP
		}
		if ip4 := ip.To4(); ip4 != nil && !ip4.IsLoopback() && !ip4.IsLinkLocalUnicast() && !ip4.IsUnspecified() {
			return ip4.String()
		}
	}
	return "127.0.0.1"
}

// hostLANAddress is LANAddress of this host's interfaces.
func hostLANAddress() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "127.0.0.1"
	}
	return LANAddress(addrs)
}
