package webrtc

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/pion/stun/v4"
)

// publicAddress asks a STUN server, from conn itself (before the ICE mux
// reads it), which address the Internet sees conn at, so the server can
// offer that address on its one WebRTC port (a forwarded port keeps its
// number). It gives up after timeout.
func publicAddress(conn net.PacketConn, server ICEServer, timeout time.Duration) (net.IP, error) {
	u, err := stun.ParseURI(server.URL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != stun.SchemeTypeSTUN {
		return nil, fmt.Errorf("%s: only stun: servers are asked", server.URL)
	}
	network := "udp4"
	if la, ok := conn.LocalAddr().(*net.UDPAddr); ok && la.IP.To4() == nil && !la.IP.IsUnspecified() {
		network = "udp6"
	}
	raddr, err := net.ResolveUDPAddr(network, net.JoinHostPort(u.Host, fmt.Sprint(u.Port)))
	if err != nil {
		return nil, err
	}
	req, err := stun.Build(stun.TransactionID, stun.BindingRequest)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	defer conn.SetReadDeadline(time.Time{})
	buf := make([]byte, 1500)
	for attempt := 0; time.Now().Before(deadline); attempt++ {
		if _, err := conn.WriteTo(req.Raw, raddr); err != nil {
			return nil, err
		}
		wait := min(time.Until(deadline), 250*time.Millisecond<<min(attempt, 3))
		_ = conn.SetReadDeadline(time.Now().Add(wait))
		for {
			n, from, err := conn.ReadFrom(buf)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				break
			}
			if err != nil {
				return nil, err
			}
			if fa, ok := from.(*net.UDPAddr); !ok || !fa.IP.Equal(raddr.IP) || !stun.IsMessage(buf[:n]) {
				continue
			}
			res := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if res.Decode() != nil || res.TransactionID != req.TransactionID {
				continue
			}
			var xor stun.XORMappedAddress
			if err := xor.GetFrom(res); err != nil {
				return nil, fmt.Errorf("%s: %w", server.URL, err)
			}
			return xor.IP, nil
		}
	}
	return nil, fmt.Errorf("%s: no answer within %v", server.URL, timeout)
}
