package publisher

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Target is a parsed publish URL.
type Target struct {
	// Scheme is "rtmp" or "rtmps".
	Scheme string
	// Addr is host:port, with the default port (1935, 443) filled in.
	Addr string
	// Host is the host name without the port (for TLS verification).
	Host string
	// App is the RTMP application (may contain '/', e.g. "live/sub").
	App string
	// Key is the stream key (publishing name), with any query string.
	Key string
	// TCURL is the tcUrl sent in connect: scheme://host[:port]/app.
	TCURL string
}

// ParseURL splits rtmp[s]://host[:port]/app[/...]/key into a Target. The
// last path element is the stream key, everything before it the
// application.
func ParseURL(raw string) (Target, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return Target{}, fmt.Errorf("%w: %w", ErrBadURL, err)
	}
	var t Target
	t.Scheme = strings.ToLower(u.Scheme)
	port := u.Port()
	switch t.Scheme {
	case "rtmp":
		if port == "" {
			port = "1935"
		}
	case "rtmps":
		if port == "" {
			port = "443"
		}
	default:
		return Target{}, fmt.Errorf("%w: scheme %q is not rtmp or rtmps", ErrBadURL, u.Scheme)
	}
	t.Host = u.Hostname()
	if t.Host == "" {
		return Target{}, fmt.Errorf("%w: no host in %q", ErrBadURL, raw)
	}
	t.Addr = net.JoinHostPort(t.Host, port)
	path := strings.Trim(u.EscapedPath(), "/")
	if p, err := url.PathUnescape(path); err == nil {
		path = p
	}
	i := strings.LastIndexByte(path, '/')
	if i <= 0 || i == len(path)-1 {
		return Target{}, fmt.Errorf("%w: %q needs /application/streamkey", ErrBadURL, raw)
	}
	t.App, t.Key = path[:i], path[i+1:]
	if u.RawQuery != "" {
		t.Key += "?" + u.RawQuery
	}
	t.TCURL = t.Scheme + "://" + u.Host + "/" + t.App
	return t, nil
}

// Redacted returns the URL with the stream key hidden, for logs and
// status lines.
func (t Target) Redacted() string {
	return t.Scheme + "://" + t.Addr + "/" + t.App + "/****"
}
