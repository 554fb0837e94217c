package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"golive/internal/peers"
)

// cdp is a minimal Chrome DevTools Protocol client over one browser
// WebSocket with flattened page sessions.
type cdp struct {
	conn    *websocket.Conn
	mu      sync.Mutex
	nextID  int
	waiting map[int]chan json.RawMessage
	events  chan cdpEvent
}

type cdpEvent struct {
	Method    string          `json:"method"`
	Params    json.RawMessage `json:"params"`
	SessionID string          `json:"sessionId"`
}

func dialCDP(ctx context.Context, t *testing.T, url string) *cdp {
	t.Helper()
	conn, _, err := websocket.Dial(ctx, url, nil)
	require.NoError(t, err, "dial DevTools %s", url)
	conn.SetReadLimit(64 << 20)
	c := &cdp{conn: conn, waiting: map[int]chan json.RawMessage{}, events: make(chan cdpEvent, 1024)}
	go c.read(ctx)
	return c
}

func (c *cdp) read(ctx context.Context) {
	for {
		_, b, err := c.conn.Read(ctx)
		if err != nil {
			close(c.events)
			return
		}
		var m struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  json.RawMessage `json:"error"`
			cdpEvent
		}
		if json.Unmarshal(b, &m) != nil {
			continue
		}
		if m.ID != 0 {
			c.mu.Lock()
			ch := c.waiting[m.ID]
			delete(c.waiting, m.ID)
			c.mu.Unlock()
			if ch != nil {
				if len(m.Error) > 0 {
					ch <- append(json.RawMessage(`{"__error":`), append(m.Error, '}')...)
				} else {
					ch <- m.Result
				}
			}
			continue
		}
		select {
		case c.events <- m.cdpEvent:
		default: // a test that stops reading events loses them, not the connection
		}
	}
}

func (c *cdp) call(ctx context.Context, session, method string, params any) (json.RawMessage, error) {
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	ch := make(chan json.RawMessage, 1)
	c.waiting[id] = ch
	c.mu.Unlock()
	msg := map[string]any{"id": id, "method": method, "params": params}
	if session != "" {
		msg["sessionId"] = session
	}
	b, _ := json.Marshal(msg)
	if err := c.conn.Write(ctx, websocket.MessageText, b); err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		if strings.HasPrefix(string(r), `{"__error":`) {
			return nil, fmt.Errorf("%s: %s", method, r)
		}
		return r, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

var devtoolsRE = regexp.MustCompile(`DevTools listening on (ws://\S+)`)

// startChromium starts headless Chromium with remote debugging on a free
// port and returns its browser WebSocket URL.
func startChromium(t *testing.T, extraFlags ...string) string {
	t.Helper()
	bin := "/usr/bin/chromium"
	if _, err := os.Stat(bin); err != nil {
		bin = peers.RequireTool(t, "chromium")
	}
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--no-first-run", "--autoplay-policy=no-user-gesture-required", "--mute-audio",
		"--remote-debugging-port=0", "--user-data-dir=" + t.TempDir()}, extraFlags...)
	cmd := exec.Command(bin, append(args, "about:blank")...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	urlCh := make(chan string, 1)
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			if m := devtoolsRE.FindStringSubmatch(sc.Text()); m != nil && !sent {
				urlCh <- m[1]
				sent = true
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		_ = cmd.Wait()
	}()
	select {
	case u := <-urlCh:
		return u
	case <-time.After(30 * time.Second):
		t.Fatal("chromium did not print its DevTools URL within 30 s")
		return ""
	}
}

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
	AudioEnergy   float64  `json:"audioEnergy"`
	Latency       *float64 `json:"latency"`
}

// openInChromium opens url in headless Chromium and returns a function
// that waits until the video has played minPlay seconds and returns the
// player's state and every console error, exception and error log entry
// seen until then.
func openInChromium(t *testing.T, url string, extraFlags ...string) *chromeWatch {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	c := dialCDP(ctx, t, startChromium(t, extraFlags...))
	t.Cleanup(func() { _ = c.conn.CloseNow() })

	res, err := c.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"})
	require.NoError(t, err)
	var target struct{ TargetID string }
	require.NoError(t, json.Unmarshal(res, &target))
	res, err = c.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true})
	require.NoError(t, err)
	var att struct{ SessionID string }
	require.NoError(t, json.Unmarshal(res, &att))
	s := att.SessionID
	for _, m := range []string{"Runtime.enable", "Log.enable", "Page.enable"} {
		_, err := c.call(ctx, s, m, map[string]any{})
		require.NoError(t, err)
	}

	var mu sync.Mutex
	var problems []string
	go func() {
		for ev := range c.events {
			var p struct {
				Type string `json:"type"`
				Args []struct {
					Value       any    `json:"value"`
					Description string `json:"description"`
				} `json:"args"`
				ExceptionDetails struct {
					Text      string `json:"text"`
					Exception struct {
						Description string `json:"description"`
					} `json:"exception"`
				} `json:"exceptionDetails"`
				Entry struct {
					Level string `json:"level"`
					Text  string `json:"text"`
					URL   string `json:"url"`
				} `json:"entry"`
			}
			_ = json.Unmarshal(ev.Params, &p)
			var msg string
			switch {
			case ev.Method == "Runtime.consoleAPICalled" && (p.Type == "error" || p.Type == "assert"):
				msg = fmt.Sprintf("console.%s %v", p.Type, p.Args)
			case ev.Method == "Runtime.exceptionThrown":
				msg = "exception: " + p.ExceptionDetails.Text + " " + p.ExceptionDetails.Exception.Description
			case ev.Method == "Log.entryAdded" && p.Entry.Level == "error":
				msg = "log: " + p.Entry.Text + " " + p.Entry.URL
			}
			if msg != "" {
				mu.Lock()
				problems = append(problems, msg)
				mu.Unlock()
			}
		}
	}()

	_, err = c.call(ctx, s, "Page.navigate", map[string]any{"url": url})
	require.NoError(t, err)
	return &chromeWatch{eval: func(expr string) error {
		_, err := c.call(ctx, s, "Runtime.evaluate", map[string]any{"expression": expr})
		return err
	}, state: func() playerState {
		if st, err := readState(ctx, c, s); err == nil && st != nil {
			return *st
		}
		return playerState{}
	}, wait: func(minPlay float64) (playerState, []string) {
		return waitPlaying(ctx, t, c, s, minPlay, &mu, &problems)
	}, problems: func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), problems...)
	}}
}

// chromeWatch is a page open in Chromium.
type chromeWatch struct {
	// eval runs JavaScript in the page.
	eval func(expr string) error
	// state reads the player's state once.
	state func() playerState
	// wait blocks until the video played minPlay seconds.
	wait func(minPlay float64) (playerState, []string)
	// problems returns the console errors seen so far.
	problems func() []string
}

// waitPlaying polls the page's #player-state until the video played
// minPlay seconds.
func waitPlaying(ctx context.Context, t *testing.T, c *cdp, s string, minPlay float64, mu *sync.Mutex, problemsp *[]string) (playerState, []string) {
	t.Helper()
	var st playerState
	played, last := 0.0, -1.0 // seconds of playback seen; jumps (a new stream) are not counted
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		cur, err := readState(ctx, c, s)
		require.NoError(t, err)
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
		time.Sleep(250 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	require.True(t, last > 0 && played >= minPlay,
		"video must play %.1f s in Chromium; state %+v; problems %v", minPlay, st, *problemsp)
	return st, append([]string(nil), *problemsp...)
}

// readState evaluates #player-state in the page; nil before the page
// wrote it.
func readState(ctx context.Context, c *cdp, session string) (*playerState, error) {
	res, err := c.call(ctx, session, "Runtime.evaluate", map[string]any{
		"expression":    "(document.getElementById('player-state')||{}).textContent || ''",
		"returnByValue": true,
	})
	if err != nil {
		return nil, err
	}
	var ev struct {
		Result struct {
			Value string `json:"value"`
		} `json:"result"`
	}
	if err := json.Unmarshal(res, &ev); err != nil {
		return nil, err
	}
	var st playerState
	if ev.Result.Value == "" || json.Unmarshal([]byte(ev.Result.Value), &st) != nil {
		return nil, nil
	}
	return &st, nil
}
