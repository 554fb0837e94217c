package webrtc

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	pion "github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"
)

// testLogger discards records unless WEBRTC_TEST_LOG is set.
func testLogger() *slog.Logger {
	var out io.Writer = io.Discard
	level := slog.LevelWarn
	if os.Getenv("WEBRTC_TEST_LOG") != "" {
		out, level = os.Stderr, slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level}))
}

// testTransport starts a Transport on 127.0.0.1 with short ICE timeouts.
func testTransport(t testing.TB, opts ...func(*Transport)) *Transport {
	t.Helper()
	tr := &Transport{Addr: "127.0.0.1:0", DisconnectedTimeout: 500 * time.Millisecond,
		FailedTimeout: 500 * time.Millisecond, Logger: testLogger()}
	for _, o := range opts {
		o(tr)
	}
	require.NoError(t, tr.Initialize())
	t.Cleanup(tr.Close)
	return tr
}

// recMedia is a Media that records its calls.
type recMedia struct {
	mu              sync.Mutex
	starts, closes  int
	started, closed chan struct{}
}

func newRecMedia() *recMedia {
	return &recMedia{started: make(chan struct{}), closed: make(chan struct{})}
}

func (m *recMedia) Start() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.starts++
	if m.starts == 1 {
		close(m.started)
	}
}

func (m *recMedia) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closes++
	if m.closes == 1 {
		close(m.closed)
	}
}

// testEndpoint serves an Endpoint at /whep whose sessions send one H.264
// track (when the offer has video) and record their media calls.
type testEndpoint struct {
	*Endpoint
	whip  *Endpoint // a WHIP-shaped endpoint at /whip (see newWHIPEndpoint)
	srv   *httptest.Server
	mu    sync.Mutex
	media []*recMedia
}

func newTestEndpoint(t testing.TB, tr *Transport, opts ...func(*Endpoint)) *testEndpoint {
	t.Helper()
	te := &testEndpoint{}
	te.Endpoint = &Endpoint{Path: "/whep", Transport: tr, Logger: testLogger(),
		Setup: func(_ *http.Request, s *Session) (Media, error) {
			if len(s.Offer.Media("video")) > 0 {
				track, err := pion.NewTrackLocalStaticSample(pion.RTPCodecCapability{MimeType: pion.MimeTypeH264,
					ClockRate: 90000}, "video", "golive")
				if err != nil {
					return nil, err
				}
				if _, err := s.PC.AddTrack(track); err != nil {
					return nil, err
				}
			}
			m := newRecMedia()
			te.mu.Lock()
			te.media = append(te.media, m)
			te.mu.Unlock()
			return m, nil
		}}
	for _, o := range opts {
		o(te.Endpoint)
	}
	require.NoError(t, te.Initialize())
	te.whip = newWHIPEndpoint(t, tr)
	mux := http.NewServeMux()
	mux.Handle("/whep", te)
	mux.Handle("/whep/", te)
	mux.Handle("/whip", te.whip)
	mux.Handle("/whip/", te.whip)
	te.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		te.srv.Close()
		te.Close()
		te.whip.Close()
	})
	return te
}

// whipTestKey is the stream key of newWHIPEndpoint.
const whipTestKey = "right"

// newWHIPEndpoint returns an Endpoint set up as WHIP ingest sets one up:
// the bearer token must be whipTestKey, the offer must send H.264, and the
// session receives.
func newWHIPEndpoint(t testing.TB, tr *Transport) *Endpoint {
	t.Helper()
	e := &Endpoint{Path: "/whip", Transport: tr, Logger: testLogger(), ConnectTimeout: time.Minute,
		Authorize: func(r *http.Request) error {
			if key, ok := BearerToken(r); !ok || key != whipTestKey {
				return ErrUnauthorized
			}
			return nil
		},
		Setup: func(_ *http.Request, s *Session) (Media, error) {
			if err := CheckPublishOffer(s.Offer); err != nil {
				return nil, err
			}
			if _, err := s.PC.AddTransceiverFromKind(pion.RTPCodecTypeVideo,
				pion.RTPTransceiverInit{Direction: pion.RTPTransceiverDirectionRecvonly}); err != nil {
				return nil, err
			}
			return newRecMedia(), nil
		}}
	require.NoError(t, e.Initialize())
	return e
}

// sendonly turns a recvonly offer into a publisher's.
func sendonly(offer string) string { return strings.ReplaceAll(offer, "a=recvonly", "a=sendonly") }

func (te *testEndpoint) url(path string) string { return te.srv.URL + path }

func (te *testEndpoint) lastMedia() *recMedia {
	te.mu.Lock()
	defer te.mu.Unlock()
	if len(te.media) == 0 {
		return nil
	}
	return te.media[len(te.media)-1]
}

// request sends one request and returns the response with its body read.
func request(t testing.TB, method, url, ctype, body string) (*http.Response, string) {
	t.Helper()
	return requestAs(t, method, url, ctype, body, "")
}

// requestAs is request with a bearer token ("": none).
func requestAs(t testing.TB, method, url, ctype, body, bearer string) (*http.Response, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	require.NoError(t, err)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

// pionOffer returns a recvonly video+audio offer made by a plain pion peer
// connection (closed again: nobody answers its ICE).
func pionOffer(t testing.TB) string {
	t.Helper()
	pc, err := pion.NewPeerConnection(pion.Configuration{})
	require.NoError(t, err)
	defer pc.Close()
	for _, k := range []pion.RTPCodecType{pion.RTPCodecTypeVideo, pion.RTPCodecTypeAudio} {
		_, err := pc.AddTransceiverFromKind(k, pion.RTPTransceiverInit{Direction: pion.RTPTransceiverDirectionRecvonly})
		require.NoError(t, err)
	}
	offer, err := pc.CreateOffer(nil)
	require.NoError(t, err)
	return offer.SDP
}

// candidates returns the a=candidate lines of an SDP.
func candidates(sdp string) []string {
	var out []string
	for _, l := range strings.Split(sdp, "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "a=candidate:") {
			out = append(out, l)
		}
	}
	return out
}
