package capture

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/internal/peers"
	"golive/media"
)

// yuvOf is BT.601 limited-range YUV of an RGB colour.
func yuvOf(c [3]byte) [3]int {
	r, g, b := int(c[0]), int(c[1]), int(c[2])
	return [3]int{(66*r+129*g+25*b+128)>>8 + 16, (-38*r-74*g+112*b+128)>>8 + 128, (112*r-94*g-18*b+128)>>8 + 128}
}

// pixel returns the Y, U, V of (x, y).
func pixel(f *media.VideoFrame, x, y int) [3]int {
	return [3]int{int(f.Y[y*f.StrideY+x]), int(f.U[(y/2)*f.StrideU+x/2]), int(f.V[(y/2)*f.StrideV+x/2])}
}

func nearYUV(want, got [3]int, tol int) bool {
	for i := range want {
		if d := want[i] - got[i]; d > tol || d < -tol {
			return false
		}
	}
	return true
}

// checkQuadrants finds xpattern's four colours at the centres of the
// quadrants of the part of f showing the window (rect in f's pixels),
// away from the moving bar.
func checkQuadrants(t *testing.T, f *media.VideoFrame, x0, y0, w, h int) {
	t.Helper()
	// The bar moves; sample each quadrant at two places and accept
	// either (the bar is an eighth of the width: it cannot cover both).
	spots := [4][2][2]int{
		{{x0 + w/8, y0 + h/4}, {x0 + 3*w/8, y0 + h/4}},
		{{x0 + 5*w/8, y0 + h/4}, {x0 + 7*w/8, y0 + h/4}},
		{{x0 + w/8, y0 + 3*h/4}, {x0 + 3*w/8, y0 + 3*h/4}},
		{{x0 + 5*w/8, y0 + 3*h/4}, {x0 + 7*w/8, y0 + 3*h/4}},
	}
	for q, c := range peers.XPatternColors {
		want := yuvOf(c)
		a, b := pixel(f, spots[q][0][0], spots[q][0][1]), pixel(f, spots[q][1][0], spots[q][1][1])
		require.True(t, nearYUV(want, a, 6) || nearYUV(want, b, 6), "quadrant %d: want %v, got %v / %v", q, want, a, b)
	}
}

func TestScreenAndWindow(t *testing.T) {
	x := peers.StartXvfb(t, "1280x720x24")
	t.Setenv("DISPLAY", x.Display)
	p := peers.StartXPattern(t, x, "golive screen test", 0, 0, 1280, 720)

	// The whole screen at half its size: the pattern fills it.
	s := &Screen{Spec: Spec{Kind: KindScreen, Index: 0}, Width: 640, Height: 360, FPS: 15, Logger: quietLog}
	require.NoError(t, s.Initialize())
	t.Cleanup(s.Close)
	var f *media.VideoFrame
	for range 3 { // the first grabs may predate the window's first paint
		f = recvFrame(t, s.Frames())
	}
	checkQuadrants(t, f, 0, 0, 640, 360)
	st := s.Stats()
	require.Equal(t, StateRunning, st.State)
	require.Contains(t, st.Device, "Screen 1")
	s.Close()
	s.Close()

	// A region (the top-right quadrant only: green), cursor off.
	sp, err := Parse("screen:0?x=640&y=0&w=640&h=360&cursor=0&fps=10")
	require.NoError(t, err)
	s = &Screen{Spec: sp, Width: 320, Height: 180, FPS: 10, Logger: quietLog}
	require.NoError(t, s.Initialize())
	t.Cleanup(s.Close)
	f = recvFrame(t, s.Frames())
	f = recvFrame(t, s.Frames())
	green := yuvOf(peers.XPatternColors[1])
	okSpots := 0
	for _, pt := range [][2]int{{20, 20}, {300, 20}, {20, 160}, {300, 160}} {
		if nearYUV(green, pixel(f, pt[0], pt[1]), 6) {
			okSpots++
		}
	}
	require.GreaterOrEqual(t, okSpots, 2, "the region shows the green quadrant (the bar may hide one column)")
	s.Close()

	// Not there: a clear error at start.
	for _, spec := range []string{"screen:3", "window:no such window", "screen:0?x=1000&y=0&w=640&h=360"} {
		sp, err := Parse(spec)
		require.NoError(t, err)
		s = &Screen{Spec: sp, Width: 320, Height: 180, Logger: quietLog}
		err = s.Initialize()
		require.ErrorIs(t, err, ErrNoScreen, spec)
		s.Close()
	}

	// A window by its title: a 4:3 window pillarboxed into 16:9.
	p.Close()
	w := peers.StartXPattern(t, x, "golive window 4:3", 100, 80, 480, 360)
	sp, err = Parse("window:golive window 4:3")
	require.NoError(t, err)
	s = &Screen{Spec: sp, Width: 640, Height: 360, FPS: 15, RetryInterval: 200 * time.Millisecond, Logger: quietLog}
	require.NoError(t, s.Initialize())
	t.Cleanup(s.Close)
	for range 3 {
		f = recvFrame(t, s.Frames())
	}
	checkQuadrants(t, f, 80, 0, 480, 360)
	require.True(t, nearYUV([3]int{16, 128, 128}, pixel(f, 10, 180), 2), "black bars at the sides: %v", pixel(f, 10, 180))
	require.Contains(t, s.Stats().Device, `window "golive window 4:3"`)

	// The window closes: a WINDOW LOST slate, the stream goes on; it comes
	// back (a new window, same title): real frames again, by themselves.
	w.Close()
	deadline := time.Now().Add(20 * time.Second)
	for s.Stats().State != StateLost {
		require.True(t, time.Now().Before(deadline), "not lost")
		recvFrame(t, s.Frames())
	}
	for range 3 {
		recvFrame(t, s.Frames())
	}
	require.Greater(t, s.Stats().Slate, uint64(0))
	peers.StartXPattern(t, x, "golive window 4:3", 300, 100, 480, 360)
	deadline = time.Now().Add(30 * time.Second)
	for s.Stats().State != StateRunning {
		require.True(t, time.Now().Before(deadline), "not back")
		recvFrame(t, s.Frames())
	}
	for range 3 {
		f = recvFrame(t, s.Frames())
	}
	checkQuadrants(t, f, 80, 0, 480, 360)
	require.Equal(t, uint64(1), s.Stats().Losses)
}
