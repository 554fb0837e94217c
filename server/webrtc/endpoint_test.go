package webrtc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	pion "github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"golive/internal/peers"
)

func connect(t *testing.T, te *testEndpoint) *peers.WHEPClient {
	t.Helper()
	c := &peers.WHEPClient{URL: te.url("/whep")}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, c.Connect(ctx))
	t.Cleanup(c.Vanish)
	return c
}

func waitClosed(t *testing.T, ch <-chan struct{}, within time.Duration, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(within):
		t.Fatalf("%s within %v", what, within)
	}
}

// TestEndpointSession follows one session through POST, connection and
// DELETE, and checks the answer offers only the one media port.
func TestEndpointSession(t *testing.T) {
	tr := testTransport(t)
	te := newTestEndpoint(t, tr)
	c := connect(t, te)

	require.True(t, strings.HasPrefix(c.Location(), te.url("/whep/")), c.Location())
	cands := candidates(c.Answer())
	require.NotEmpty(t, cands)
	port := strconv.Itoa(tr.Address().(*net.UDPAddr).Port)
	for _, cand := range cands {
		f := strings.Fields(cand)
		require.GreaterOrEqual(t, len(f), 8, cand)
		require.Equal(t, "udp", strings.ToLower(f[2]), cand)
		require.Equal(t, "127.0.0.1", f[4], "only the address the transport listens on: %s", cand)
		require.Equal(t, port, f[5], "only the one media port: %s", cand)
		require.Equal(t, "host", f[7], cand)
	}
	m := te.lastMedia()
	waitClosed(t, m.started, 10*time.Second, "media started")
	require.Equal(t, 1, te.Stats().Sessions)

	require.Equal(t, http.StatusOK, c.Close())
	waitClosed(t, m.closed, 5*time.Second, "media closed")
	st := te.Stats()
	require.Equal(t, EndpointStats{Created: 1, Deleted: 1}, st)
	resp, _ := request(t, http.MethodDelete, c.Location(), "", "")
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "a session ends once")
	m.mu.Lock()
	require.Equal(t, 1, m.starts)
	require.Equal(t, 1, m.closes)
	m.mu.Unlock()
}

// endpointCases are requests an endpoint refuses; they also seed
// FuzzEndpointOffer.
var endpointCases = []struct {
	name   string
	method string
	path   string
	ctype  string
	body   func(offer string) string
	status int
	bearer string // sent as Authorization: Bearer
}{
	{"malformed SDP", "POST", "/whep", "application/sdp", func(string) string { return "v=0\r\nthis is not sdp\r\n" }, 400, ""},
	{"empty body", "POST", "/whep", "application/sdp", func(string) string { return "" }, 400, ""},
	{"no media section", "POST", "/whep", "application/sdp", func(string) string {
		return "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
	}, 400, ""},
	{"no fingerprint", "POST", "/whep", "application/sdp", func(o string) string { return dropLines(o, "a=fingerprint:") }, 400, ""},
	{"no ICE credentials", "POST", "/whep", "application/sdp", func(o string) string { return dropLines(o, "a=ice-pwd:") }, 400, ""},
	{"oversized", "POST", "/whep", "application/sdp", func(o string) string {
		return o + strings.Repeat("a=x-padding:"+strings.Repeat("x", 100)+"\r\n", 700)
	}, 400, ""},
	{"unknown fingerprint hash", "POST", "/whep", "application/sdp", func(o string) string {
		return strings.Replace(o, "a=fingerprint:sha-256 ", "a=fingerprint:md9 ", 1)
	}, 400, ""},
	{"plain RTP", "POST", "/whep", "application/sdp", func(o string) string {
		return strings.ReplaceAll(o, "UDP/TLS/RTP/SAVPF", "RTP/AVP")
	}, 400, ""},
	{"media without mid (pion refuses)", "POST", "/whep", "application/sdp", func(o string) string {
		return dropLines(o, "a=mid:")
	}, 400, ""},
	{"wrong content type", "POST", "/whep", "text/plain", func(o string) string { return o }, 415, ""},
	{"GET", "GET", "/whep", "", func(string) string { return "" }, 405, ""},
	{"DELETE unknown session", "DELETE", "/whep/0123456789abcdef", "", func(string) string { return "" }, 404, ""},
	{"PATCH unknown session", "PATCH", "/whep/0123456789abcdef", "application/trickle-ice-sdpfrag", func(string) string { return "" }, 404, ""},
	{"nested path", "DELETE", "/whep/a/b", "", func(string) string { return "" }, 404, ""},
	// WHIP's request handling (publish offers, the bearer token), at the
	// /whip endpoint of newTestEndpoint.
	{"WHIP: no bearer token", "POST", "/whip", "application/sdp", sendonly, 401, ""},
	{"WHIP: wrong key", "POST", "/whip", "application/sdp", sendonly, 401, "wrong"},
	{"WHIP: malformed SDP", "POST", "/whip", "application/sdp", func(string) string { return "v=0\r\nnot sdp\r\n" }, 400, whipTestKey},
	{"WHIP: an offer that only receives", "POST", "/whip", "application/sdp", func(o string) string { return o }, 400, whipTestKey},
	{"WHIP: no H.264", "POST", "/whip", "application/sdp", func(o string) string {
		return strings.ReplaceAll(sendonly(o), "H264/90000", "H263/90000")
	}, 400, whipTestKey},
	{"WHIP: not SDP", "POST", "/whip", "text/plain", sendonly, 415, whipTestKey},
}

func dropLines(sdp, prefix string) string {
	var out []string
	for _, l := range strings.SplitAfter(sdp, "\n") {
		if !strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

func TestEndpointRefuses(t *testing.T) {
	te := newTestEndpoint(t, testTransport(t))
	offer := pionOffer(t)
	for _, tc := range endpointCases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := requestAs(t, tc.method, te.url(tc.path), tc.ctype, tc.body(offer), tc.bearer)
			require.Equal(t, tc.status, resp.StatusCode, body)
			require.Equal(t, "*", resp.Header.Get("Access-Control-Allow-Origin"))
		})
	}
	require.Zero(t, te.Stats().Sessions)
	require.Zero(t, te.Stats().Created)
	require.Zero(t, te.whip.Stats().Created)

	resp, _ := request(t, http.MethodOptions, te.url("/whep"), "", "")
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Access-Control-Allow-Methods"), "POST")
	require.Contains(t, resp.Header.Get("Access-Control-Expose-Headers"), "Location")
}

func TestEndpointAuthorize(t *testing.T) {
	te := newTestEndpoint(t, testTransport(t), func(e *Endpoint) {
		e.Authorize = func(r *http.Request) error {
			if r.Header.Get("Authorization") != "Bearer right" {
				return fmt.Errorf("%w: wrong key", ErrUnauthorized)
			}
			return nil
		}
	})
	resp, _ := request(t, http.MethodPost, te.url("/whep"), "application/sdp", pionOffer(t))
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Contains(t, resp.Header.Get("WWW-Authenticate"), "Bearer")
	c := &peers.WHEPClient{URL: te.url("/whep"), Bearer: "right"}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, c.Connect(ctx))
	resp, _ = request(t, http.MethodDelete, c.Location(), "", "")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "DELETE needs the key too")
	require.Equal(t, http.StatusOK, c.Close())
}

// TestEndpointCap refuses offers past MaxSessions with 503 and takes them
// again once a session ended.
func TestEndpointCap(t *testing.T) {
	te := newTestEndpoint(t, testTransport(t), func(e *Endpoint) { e.MaxSessions = 2 })
	a := connect(t, te)
	connect(t, te)
	resp, body := request(t, http.MethodPost, te.url("/whep"), "application/sdp", pionOffer(t))
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, body)
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
	require.EqualValues(t, 1, te.Stats().Refused)
	require.Equal(t, http.StatusOK, a.Close())
	connect(t, te)
	require.Equal(t, 2, te.Stats().Sessions)
}

// TestEndpointReaps closes a session whose viewer vanished without a
// DELETE (ICE timeout) and one that never connected (connect timeout).
func TestEndpointReaps(t *testing.T) {
	te := newTestEndpoint(t, testTransport(t), func(e *Endpoint) { e.ConnectTimeout = time.Second })
	c := connect(t, te)
	m := te.lastMedia()
	waitClosed(t, m.started, 10*time.Second, "media started")
	c.Vanish()
	waitClosed(t, m.closed, 10*time.Second, "vanished viewer reaped by ICE timeout")

	resp, body := request(t, http.MethodPost, te.url("/whep"), "application/sdp", pionOffer(t))
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	m = te.lastMedia()
	waitClosed(t, m.closed, 10*time.Second, "never-connected session reaped")
	select {
	case <-m.started:
		t.Fatal("a session that never connected must not start")
	default:
	}
	require.Eventually(t, func() bool { return te.Stats().Reaped == 2 }, 5*time.Second, 10*time.Millisecond)
	require.Zero(t, te.Stats().Sessions)
}

func TestEndpointTrickle(t *testing.T) {
	te := newTestEndpoint(t, testTransport(t))
	c := connect(t, te)
	offer := c.PeerConnection().LocalDescription().SDP
	ufrag := ""
	for _, l := range strings.Split(offer, "\r\n") {
		if u, ok := strings.CutPrefix(l, "a=ice-ufrag:"); ok {
			ufrag = u
			break
		}
	}
	require.NotEmpty(t, ufrag)
	frag := "a=ice-ufrag:" + ufrag + "\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n" +
		"a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\na=end-of-candidates\r\n"
	for _, tc := range []struct {
		name, ctype, body, ifMatch string
		status                     int
	}{
		{"candidates", "application/trickle-ice-sdpfrag", frag, "", 204},
		{"ICE restart", "application/trickle-ice-sdpfrag", strings.Replace(frag, ufrag, "otherufrag", 1), "", 422},
		{"wrong type", "application/sdp", frag, "", 415},
		{"bad candidate", "application/trickle-ice-sdpfrag", "a=candidate:garbage\r\n", "", 400},
		{"stale ETag", "application/trickle-ice-sdpfrag", frag, `"nope"`, 412},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodPatch, c.Location(), strings.NewReader(tc.body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", tc.ctype)
			if tc.ifMatch != "" {
				req.Header.Set("If-Match", tc.ifMatch)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, tc.status, resp.StatusCode)
		})
	}
	require.Equal(t, 1, te.Stats().Sessions, "a refused PATCH leaves the session alone")
}

func TestEndpointClose(t *testing.T) {
	te := newTestEndpoint(t, testTransport(t))
	connect(t, te)
	m := te.lastMedia()
	te.Close()
	waitClosed(t, m.closed, 5*time.Second, "Close ends the sessions")
	resp, _ := request(t, http.MethodPost, te.url("/whep"), "application/sdp", pionOffer(t))
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	te.Close()
}

func TestEndpointConfig(t *testing.T) {
	tr := testTransport(t)
	setup := func(*http.Request, *Session) (Media, error) { return nil, errors.New("unused") }
	for _, e := range []*Endpoint{
		{Path: "/whep", Setup: setup},
		{Path: "/whep", Transport: tr},
		{Path: "whep", Transport: tr, Setup: setup},
		{Path: "/whep/", Transport: tr, Setup: setup},
		{Path: "/whep", Transport: tr, Setup: setup, MaxSessions: -1},
	} {
		require.ErrorIs(t, e.Initialize(), ErrBadConfig)
	}
}

// TestEndpointChromiumOffer answers an offer Chromium 156 made (recvonly
// video and audio, mDNS host candidates): H.264 packetization-mode 1 and
// Opus are what the answer takes.
func TestEndpointChromiumOffer(t *testing.T) {
	offer, err := os.ReadFile("testdata/chromium-offer.sdp")
	require.NoError(t, err)
	te := newTestEndpoint(t, testTransport(t), func(e *Endpoint) {
		setup := e.Setup
		e.Setup = func(r *http.Request, s *Session) (Media, error) {
			m, err := setup(r, s)
			if err != nil {
				return nil, err
			}
			audio, err := pion.NewTrackLocalStaticRTP(pion.RTPCodecCapability{MimeType: pion.MimeTypeOpus,
				ClockRate: 48000, Channels: 2}, "audio", "golive")
			if err != nil {
				return nil, err
			}
			_, err = s.PC.AddTrack(audio)
			return m, err
		}
	})
	o, err := ParseOffer(offer)
	require.NoError(t, err)
	require.True(t, HasH264(o.Media("video")[0]))
	require.True(t, HasOpus(o.Media("audio")[0]))
	resp, answer := request(t, http.MethodPost, te.url("/whep"), "application/sdp", string(offer))
	require.Equal(t, http.StatusCreated, resp.StatusCode, answer)
	require.Regexp(t, `a=rtpmap:\d+ H264/90000`, answer)
	require.Regexp(t, `a=fmtp:\d+ .*packetization-mode=1`, answer)
	require.Regexp(t, `a=rtpmap:\d+ opus/48000/2`, answer)
	require.Contains(t, answer, "a=sendonly")
	require.NotEmpty(t, candidates(answer))
}
