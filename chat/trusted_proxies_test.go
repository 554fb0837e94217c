package chat

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

// proxyCase is one row of the table that drives ClientIP's tests and the fuzzer's seeds.
type proxyCase struct {
	name      string
	remote    string
	forwarded string // Forwarded header ("" none)
	xff       string // X-Forwarded-For header ("" none)
	want      string
}

var proxyCases = []proxyCase{
	{"direct viewer", "203.0.113.7:5000", "", "", "203.0.113.7"},
	{"direct viewer lying", "203.0.113.7:5000", "", "1.2.3.4", "203.0.113.7"},
	{"direct viewer lying with Forwarded", "203.0.113.7:5000", "for=1.2.3.4", "", "203.0.113.7"},
	{"proxy, XFF", "10.0.0.2:5000", "", "198.51.100.9", "198.51.100.9"},
	{"proxy, XFF with spoofed left part", "10.0.0.2:5000", "", "6.6.6.6, 198.51.100.9", "198.51.100.9"},
	{"two trusted proxies", "10.0.0.2:5000", "", "198.51.100.9, 10.0.0.3", "198.51.100.9"},
	{"all trusted", "10.0.0.2:5000", "", "10.0.0.4, 10.0.0.3", "10.0.0.4"},
	{"proxy without header", "10.0.0.2:5000", "", "", "10.0.0.2"},
	{"proxy, Forwarded", "10.0.0.2:5000", `for=198.51.100.9;proto=https`, "", "198.51.100.9"},
	{"proxy, Forwarded quoted v6 with port", "10.0.0.2:5000", `for="[2001:db8::7]:4711"`, "", "2001:db8::7"},
	{"proxy, Forwarded wins over XFF", "10.0.0.2:5000", `For=198.51.100.9`, "192.0.2.1", "198.51.100.9"},
	{"proxy, Forwarded list", "10.0.0.2:5000", `for=6.6.6.6, for=198.51.100.9;by=10.0.0.2`, "", "198.51.100.9"},
	{"proxy, Forwarded unknown", "10.0.0.2:5000", `for=unknown`, "", "10.0.0.2"},
	{"proxy, Forwarded obfuscated behind trusted", "10.0.0.2:5000", `for=_hidden, for=10.0.0.3`, "", "10.0.0.3"},
	{"proxy, XFF garbage", "10.0.0.2:5000", "", "not an ip", "10.0.0.2"},
	{"proxy, XFF with port", "10.0.0.2:5000", "", "198.51.100.9:1234", "198.51.100.9"},
	{"proxy, XFF v4-mapped v6", "10.0.0.2:5000", "", "::ffff:198.51.100.9", "198.51.100.9"},
	{"v6 proxy", "[2001:db8:1::2]:443", "", "198.51.100.9", "198.51.100.9"},
	{"v6 viewer", "[2001:db8:9::9]:443", "", "198.51.100.9", "2001:db8:9::9"},
	{"remote not an address", "pipe", "", "198.51.100.9", "pipe"},
}

func testProxies(t testing.TB) TrustedProxies {
	var tp TrustedProxies
	for _, s := range []string{"10.0.0.0/8", "2001:db8:1::/48", "127.0.0.1"} {
		p, err := ParseTrustedProxy(s)
		require.NoError(t, err)
		tp = append(tp, p)
	}
	return tp
}

func proxyRequest(tc proxyCase) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/chat/ws", nil)
	r.RemoteAddr = tc.remote
	if tc.forwarded != "" {
		r.Header.Set("Forwarded", tc.forwarded)
	}
	if tc.xff != "" {
		r.Header.Set("X-Forwarded-For", tc.xff)
	}
	return r
}

func TestTrustedProxiesClientIP(t *testing.T) {
	tp := testProxies(t)
	for _, tc := range proxyCases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tp.ClientIP(proxyRequest(tc)))
		})
	}
	r := proxyRequest(proxyCase{remote: "198.51.100.9:1", xff: "1.1.1.1"})
	require.Equal(t, "198.51.100.9", TrustedProxies(nil).ClientIP(r), "no proxies: headers ignored")
}

func TestParseTrustedProxy(t *testing.T) {
	for in, want := range map[string]string{
		"10.1.2.3/8":     "10.0.0.0/8",
		"192.0.2.1":      "192.0.2.1/32",
		"2001:db8::/32":  "2001:db8::/32",
		"::ffff:1.2.3.4": "1.2.3.4/32",
	} {
		p, err := ParseTrustedProxy(in)
		require.NoError(t, err, in)
		require.Equal(t, netip.MustParsePrefix(want), p, in)
	}
	for _, bad := range []string{"", "10.0.0.0/33", "example.com", "10.0.0/8"} {
		_, err := ParseTrustedProxy(bad)
		require.ErrorIs(t, err, ErrBadProxy, bad)
	}
}

func FuzzTrustedProxiesClientIP(f *testing.F) {
	for _, tc := range proxyCases {
		f.Add(tc.remote, tc.forwarded, tc.xff)
	}
	tp := testProxies(f)
	f.Fuzz(func(t *testing.T, remote, forwarded, xff string) {
		r := proxyRequest(proxyCase{remote: remote, forwarded: forwarded, xff: xff})
		got := tp.ClientIP(r)
		if got == remoteHost(r) {
			return
		}
		if _, err := netip.ParseAddr(got); err != nil {
			t.Fatalf("ClientIP %q is neither the peer nor an address", got)
		}
		peer, err := netip.ParseAddr(remoteHost(r))
		if err != nil || !tp.trusts(peer) {
			t.Fatalf("headers believed from an untrusted peer %q: %q", remote, got)
		}
	})
}
