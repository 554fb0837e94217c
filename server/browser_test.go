package server

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/internal/peers"
)

// playerState is what player.js mirrors into #player-state.
type playerState struct {
	Live        bool     `json:"live"`
	Attached    bool     `json:"attached"`
	CurrentTime float64  `json:"currentTime"`
	Paused      bool     `json:"paused"`
	Latency     *float64 `json:"latency"`
	Levels      []int    `json:"levels"`
	Errors      []string `json:"errors"`
	Starts      int      `json:"starts"`
	// Mode is "webrtc", "hls" or "dash"; Fallback says why WebRTC was not
	// used.
	Mode        string       `json:"mode"`
	Fallback    string       `json:"fallback"`
	VideoWidth  int          `json:"videoWidth"`
	VideoHeight int          `json:"videoHeight"`
	WebRTC      *webrtcState `json:"webrtc"`
}

// webrtcState is the WebRTC part of the player's state (its getStats).
type webrtcState struct {
	FramesDecoded int      `json:"framesDecoded"`
	AudioPackets  int      `json:"audioPackets"`
	AudioSamples  int      `json:"audioSamples"`
	AudioConceal  int      `json:"audioConcealed"`
	AudioEnergy   float64  `json:"audioEnergy"`
	Latency       *float64 `json:"latency"`
}

// openInChromium opens url in a headless Chromium of its own (started
// with extraFlags) and returns the page, watched through #player-state.
func openInChromium(t *testing.T, url string, extraFlags ...string) *chromeWatch {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	page, err := peers.StartChromium(t, extraFlags...).NewPage(ctx, url)
	require.NoError(t, err)
	return &chromeWatch{t: t, ctx: ctx, page: page}
}

// chromeWatch is a page open in Chromium.
type chromeWatch struct {
	t    *testing.T
	ctx  context.Context
	page *peers.Page
}

// eval runs JavaScript in the page.
func (w *chromeWatch) eval(expr string) error { return w.page.Evaluate(w.ctx, expr, nil) }

// problems returns the console errors, exceptions and error log entries
// seen so far.
func (w *chromeWatch) problems() []string { return w.page.Errors() }

// state reads the player's state once (the zero value before the page
// wrote it).
func (w *chromeWatch) state() playerState {
	if st, err := w.read(); err == nil && st != nil {
		return *st
	}
	return playerState{}
}

// read evaluates #player-state in the page; nil before the page wrote it.
func (w *chromeWatch) read() (*playerState, error) {
	var text string
	if err := w.page.Evaluate(w.ctx, "(document.getElementById('player-state')||{}).textContent || ''", &text); err != nil {
		return nil, err
	}
	var st playerState
	if text == "" || json.Unmarshal([]byte(text), &st) != nil {
		return nil, nil
	}
	return &st, nil
}

// wait polls the page's #player-state until the video has played minPlay
// seconds (jumps, as to a new stream, not counted) and returns the
// player's state and the problems seen until then.
func (w *chromeWatch) wait(minPlay float64) (playerState, []string) {
	w.t.Helper()
	var st playerState
	played, last := 0.0, -1.0
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		cur, err := w.read()
		require.NoError(w.t, err)
		if cur != nil {
			st = *cur
			if last >= 0 {
				if d := st.CurrentTime - last; d > 0 && d < 2 {
					played += d
				}
			}
			if st.CurrentTime > 0 {
				last = st.CurrentTime
			}
			if last > 0 && played >= minPlay {
				break
			}
		}
		time.Sleep(250 * time.Millisecond) // polling a page in real time
	}
	problems := w.problems()
	require.True(w.t, last > 0 && played >= minPlay,
		"video must play %.1f s in Chromium; state %+v; problems %v", minPlay, st, problems)
	return st, problems
}
