package webrtc

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// FuzzEndpoint feeds arbitrary bodies to an endpoint's request handling:
// as an offer (POST, to the WHEP-shaped endpoint and, with the key, to the
// WHIP-shaped one) and as a trickle fragment (PATCH on a live session).
// Whatever comes, the answer is a 201 (then the session DELETEs cleanly)
// or a 4xx, never a 500 or a crash, and no session is left behind.
func FuzzEndpoint(f *testing.F) {
	te := newTestEndpoint(f, testTransport(f), func(e *Endpoint) {
		e.ConnectTimeout = time.Minute
		e.MaxOfferSize = 16 << 10
	})
	offer := pionOffer(f)
	f.Add(false, []byte(offer))
	f.Add(false, []byte(sendonly(offer)))
	for _, tc := range endpointCases {
		if tc.method == http.MethodPost {
			f.Add(false, []byte(tc.body(offer)))
		}
	}
	f.Add(true, []byte("a=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\na=end-of-candidates\r\n"))
	f.Add(true, []byte("a=ice-ufrag:x\r\n"))
	f.Add(true, []byte("a=candidate:1 1 tcp 1 ::1 9 typ srflx raddr 0.0.0.0 rport 0\r\n"))

	// The PATCH target: trickled candidates that fail their checks end
	// it (ICE failed), and then a new one is made.
	session := ""
	target := func(t testing.TB) string {
		if session == "" {
			resp, _ := request(t, http.MethodPost, te.url("/whep"), "application/sdp", offer)
			require.Equal(t, http.StatusCreated, resp.StatusCode)
			session = te.srv.URL + resp.Header.Get("Location")
		}
		return session
	}

	f.Fuzz(func(t *testing.T, patch bool, body []byte) {
		if patch {
			resp, text := request(t, http.MethodPatch, target(t), "application/trickle-ice-sdpfrag", string(body))
			if resp.StatusCode == http.StatusNotFound {
				session = ""
				resp, text = request(t, http.MethodPatch, target(t), "application/trickle-ice-sdpfrag", string(body))
			}
			require.Contains(t, []int{204, 400, 422}, resp.StatusCode, text)
			return
		}
		for _, path := range []string{"/whep", "/whip"} {
			resp, text := requestAs(t, http.MethodPost, te.url(path), "application/sdp", string(body), whipTestKey)
			switch resp.StatusCode {
			case http.StatusCreated:
				require.True(t, strings.HasPrefix(text, "v=0"), text)
				del, _ := requestAs(t, http.MethodDelete, te.srv.URL+resp.Header.Get("Location"), "", "", whipTestKey)
				require.Equal(t, http.StatusOK, del.StatusCode)
			case http.StatusBadRequest:
			default:
				t.Fatalf("%s: status %d for %q: %s", path, resp.StatusCode, body, text)
			}
		}
		require.LessOrEqual(t, te.Stats().Sessions, 1, "only the PATCH target is left")
		require.Zero(t, te.whip.Stats().Sessions)
	})
}
