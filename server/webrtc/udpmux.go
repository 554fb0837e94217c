package webrtc

import (
	"fmt"
	"net"
	"strconv"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
)

// udpPort is the WebRTC media port: every session's ICE, DTLS and SRTP
// share it (ICE UDP muxing tells sessions apart by their ICE username).
// On a specific address it is one socket; on an unspecified one (":8189")
// it is one socket per interface address, all on the same port, so that
// each answers from the address its candidate names.
type udpPort struct {
	mux   ice.UDPMux
	conns []net.PacketConn
}

// listenUDPPort opens the port for addr; conn, if not nil, is used instead.
func listenUDPPort(addr string, conn net.PacketConn, lf logging.LoggerFactory) (*udpPort, error) {
	newMux := func(c net.PacketConn) ice.UDPMux {
		return ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: c, Logger: lf.NewLogger("udpmux")})
	}
	if conn != nil {
		return &udpPort{mux: newMux(conn), conns: []net.PacketConn{conn}}, nil
	}
	host, portS, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%w: webrtc address %q: %w", ErrBadConfig, addr, err)
	}
	port, err := strconv.Atoi(portS)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("%w: webrtc address %q: bad port", ErrBadConfig, addr)
	}
	ip := net.ParseIP(host)
	if host != "" && ip == nil {
		ips, err := net.LookupIP(host)
		if err != nil || len(ips) == 0 {
			return nil, fmt.Errorf("%w: webrtc address %q: unknown host", ErrBadConfig, addr)
		}
		ip = ips[0]
	}
	if ip != nil && !ip.IsUnspecified() {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port})
		if err != nil {
			return nil, fmt.Errorf("webrtc: listen %s: %w", addr, err)
		}
		return &udpPort{mux: newMux(c), conns: []net.PacketConn{c}}, nil
	}
	ips, err := interfaceIPs(ip == nil || ip.To4() == nil)
	if err != nil {
		return nil, fmt.Errorf("webrtc: listen %s: %w", addr, err)
	}
	p := &udpPort{}
	var muxes []ice.UDPMux
	for _, a := range ips {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: a.IP, Port: port, Zone: a.Zone})
		if err != nil {
			for _, c := range p.conns {
				_ = c.Close()
			}
			return nil, fmt.Errorf("webrtc: listen %s on %s: %w", addr, a.IP, err)
		}
		if port == 0 { // the first socket picks the port; the others take it
			port = c.LocalAddr().(*net.UDPAddr).Port
		}
		p.conns = append(p.conns, c)
		muxes = append(muxes, newMux(c))
	}
	p.mux = ice.NewMultiUDPMuxDefault(muxes...)
	return p, nil
}

// interfaceIPs lists the addresses of the interfaces that are up: IPv4,
// and IPv6 (not link-local) when v6 is set. Loopback is included, so a
// viewer on the server's own machine connects without a LAN.
func interfaceIPs(v6 bool) ([]net.IPAddr, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var out []net.IPAddr
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			switch {
			case n.IP.To4() != nil:
				out = append(out, net.IPAddr{IP: n.IP.To4()})
			case v6 && !n.IP.IsLinkLocalUnicast():
				out = append(out, net.IPAddr{IP: n.IP})
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no network interface is up")
	}
	return out, nil
}

// addrs returns the addresses the port listens on.
func (p *udpPort) addrs() []net.Addr {
	out := make([]net.Addr, len(p.conns))
	for i, c := range p.conns {
		out[i] = c.LocalAddr()
	}
	return out
}

// close closes the mux and its sockets.
func (p *udpPort) close() {
	_ = p.mux.Close()
	for _, c := range p.conns {
		_ = c.Close()
	}
}
