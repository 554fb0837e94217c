package webrtc

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/pion/stun/v4"
	pion "github.com/pion/webrtc/v4"
)

// ICEServer is one STUN or TURN server, as `serve --ice-server` names it.
type ICEServer struct {
	// URL is the server's URI without credentials ("stun:host:3478",
	// "turn:host:3478?transport=udp", "turns:host:5349").
	URL string
	// Username and Credential are the TURN long-term credentials.
	Username, Credential string
}

// ParseICEServer reads an --ice-server value: stun:HOST[:PORT] or
// stuns:HOST[:PORT], or turn:USER:PASS@HOST[:PORT][?transport=udp|tcp]
// (turns: alike) — TURN needs its credentials. It returns an error
// wrapping ErrBadConfig for anything else.
func ParseICEServer(s string) (ICEServer, error) {
	scheme, rest, ok := strings.Cut(strings.TrimSpace(s), ":")
	scheme = strings.ToLower(scheme)
	if !ok || rest == "" {
		return ICEServer{}, fmt.Errorf("%w: ice server %q: want stun:HOST[:PORT] or turn:USER:PASS@HOST[:PORT]", ErrBadConfig, s)
	}
	rest = strings.TrimPrefix(rest, "//")
	var srv ICEServer
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		user, pass, ok := strings.Cut(rest[:at], ":")
		if !ok || user == "" || pass == "" {
			return ICEServer{}, fmt.Errorf("%w: ice server %q: credentials must be USER:PASS@", ErrBadConfig, s)
		}
		srv.Username, srv.Credential, rest = user, pass, rest[at+1:]
	}
	srv.URL = scheme + ":" + rest
	// pion's ParseURI recurses without end on a host:port it cannot
	// split even after adding the default port ("stun:[]0"): split first.
	hostport, _, _ := strings.Cut(rest, "?")
	if _, _, err := net.SplitHostPort(hostport); err != nil {
		if _, _, err := net.SplitHostPort(hostport + ":3478"); err != nil {
			return ICEServer{}, fmt.Errorf("%w: ice server %q: %w", ErrBadConfig, s, err)
		}
	}
	u, err := stun.ParseURI(srv.URL)
	if err != nil {
		return ICEServer{}, fmt.Errorf("%w: ice server %q: %w", ErrBadConfig, s, err)
	}
	switch {
	case u.Host == "":
		return ICEServer{}, fmt.Errorf("%w: ice server %q: no host", ErrBadConfig, s)
	case u.Port <= 0 || u.Port > 65535:
		return ICEServer{}, fmt.Errorf("%w: ice server %q: bad port", ErrBadConfig, s)
	case isTURN(u.Scheme) && srv.Username == "":
		return ICEServer{}, fmt.Errorf("%w: ice server %q: TURN needs USER:PASS@", ErrBadConfig, s)
	case !isTURN(u.Scheme) && srv.Username != "":
		return ICEServer{}, fmt.Errorf("%w: ice server %q: STUN takes no credentials", ErrBadConfig, s)
	}
	return srv, nil
}

func isTURN(s stun.SchemeType) bool { return s == stun.SchemeTypeTURN || s == stun.SchemeTypeTURNS }

// IsTURN reports whether the server is a TURN (relay) server.
func (s ICEServer) IsTURN() bool {
	u, err := stun.ParseURI(s.URL)
	return err == nil && isTURN(u.Scheme)
}

// String returns the server as --ice-server takes it, the password hidden.
func (s ICEServer) String() string {
	if s.Username == "" {
		return s.URL
	}
	scheme, rest, _ := strings.Cut(s.URL, ":")
	return scheme + ":" + s.Username + ":****@" + rest
}

// Link returns the server as an RFC 9725 Link header value
// (rel="ice-server"), which WHIP and WHEP clients read to configure ICE.
func (s ICEServer) Link() string {
	l := "<" + s.URL + `>; rel="ice-server"`
	if s.Username != "" {
		l += "; username=" + strconv.Quote(s.Username) + "; credential=" + strconv.Quote(s.Credential) +
			`; credential-type="password"`
	}
	return l
}

// pion returns the server as pion's configuration takes it.
func (s ICEServer) pion() pion.ICEServer {
	is := pion.ICEServer{URLs: []string{s.URL}}
	if s.Username != "" {
		is.Username, is.Credential = s.Username, s.Credential
		is.CredentialType = pion.ICECredentialTypePassword
	}
	return is
}
