package studio

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLANAddress(t *testing.T) {
	ipnet := func(s string) net.Addr { ip, n, _ := net.ParseCIDR(s); n.IP = ip; return n }
	for _, tc := range []struct {
		addrs []net.Addr
		want  string
	}{
		{nil, "127.0.0.1"},
		{[]net.Addr{ipnet("127.0.0.1/8"), ipnet("::1/128")}, "127.0.0.1"},
		{[]net.Addr{ipnet("127.0.0.1/8"), ipnet("fe80::1/64"), ipnet("169.254.1.2/16"), ipnet("192.168.1.20/24"), ipnet("10.0.0.2/8")}, "192.168.1.20"},
		{[]net.Addr{&net.IPAddr{IP: net.ParseIP("10.1.2.3")}}, "10.1.2.3"},
	} {
		require.Equal(t, tc.want, LANAddress(tc.addrs))
	}
}
