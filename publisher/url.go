package publisher

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Target is a parsed publish URL: RTMP(S), or a WHIP endpoint (http or
// https).
type Target struct {
	// Scheme is "rtmp", "rtmps", "http" or "https" (WHIP).
	Scheme string
	// Addr is host:port, with the default port (1935, 443, 80) filled in.
	Addr string
	// Host is the host name without the port (for TLS verification).
	Host string
	// App is the RTMP application (may contain '/', e.g. "live/sub").
	App string
	// Key is the stream key (publishing name), with any query string;
	// for WHIP the bearer token, the URL's user part (may be empty).
	Key string
	// TCURL is the tcUrl sent in connect: scheme://host[:port]/app.
	TCURL string
	// Endpoint is, for WHIP, the URL offers are POSTed to, without the
	// user part.
	Endpoint string
}

// IsWHIP reports whether the target is a WHIP endpoint (http or https).
func (t Target) IsWHIP() bool { return t.Scheme == "http" || t.Scheme == "https" }

// ParseURL splits rtmp[s]://host[:port]/app[/...]/key into a Target. The
// last path element is the stream key, everything before it the
// application. An http(s)://[KEY@]host[:port]/path URL is a WHIP endpoint
// whose user part is the bearer token (see parseWHIPURL).
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
	case "http", "https":
		return parseWHIPURL(u, raw)
	default:
		return Target{}, fmt.Errorf("%w: scheme %q is not rtmp, rtmps, http or https (WHIP)", ErrBadURL, u.Scheme)
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

// parseWHIPURL reads an http(s) URL as a WHIP endpoint: the user part
// (user or user:password, unescaped) is the bearer token, the rest the
// endpoint.
func parseWHIPURL(u *url.URL, raw string) (Target, error) {
	t := Target{Scheme: strings.ToLower(u.Scheme), Host: u.Hostname()}
	if t.Host == "" {
		return Target{}, fmt.Errorf("%w: no host in %q", ErrBadURL, raw)
	}
	if u.Fragment != "" || u.Opaque != "" {
		return Target{}, fmt.Errorf("%w: a WHIP URL is http(s)://KEY@HOST[:PORT]/PATH", ErrBadURL)
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[t.Scheme]
	}
	t.Addr = net.JoinHostPort(t.Host, port)
	if u.User != nil {
		t.Key = u.User.Username()
		if p, ok := u.User.Password(); ok {
			t.Key += ":" + p
		}
	}
	if strings.ContainsAny(t.Key, "\r\n") {
		return Target{}, fmt.Errorf("%w: the bearer token has a line break", ErrBadURL)
	}
	e := *u
	e.User, e.Scheme = nil, t.Scheme
	if e.Path == "" {
		e.Path = "/"
	}
	t.Endpoint = e.String()
	return t, nil
}

// Redacted returns the URL with the stream key hidden, for logs and
// status lines.
func (t Target) Redacted() string {
	if t.IsWHIP() {
		// The token, and a query that may carry one, are hidden.
		out := t.Scheme + "://"
		if t.Key != "" {
			out += "****@"
		}
		out += t.Addr
		if e, err := url.Parse(t.Endpoint); err == nil {
			out += e.EscapedPath()
			if e.RawQuery != "" {
				out += "?****"
			}
		}
		return out
	}
	return t.Scheme + "://" + t.Addr + "/" + t.App + "/****"
}
