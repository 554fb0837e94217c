package encoder

import (
	"testing"
	"time"

	"github.com/asticode/go-astiav"
	"github.com/stretchr/testify/require"
)

func TestLogLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	l := &logLimiter{burst: 3, now: func() time.Time { return now }}
	var passed []int
	for range 5 {
		ok, s := l.allow()
		if ok {
			passed = append(passed, s)
		}
	}
	require.Equal(t, []int{0, 0, 0}, passed)
	now = now.Add(time.Second)
	ok, s := l.allow()
	require.True(t, ok)
	require.Equal(t, 2, s, "the two dropped lines are reported")
}

func TestFFmpegLevel(t *testing.T) {
	cases := []struct {
		in   astiav.LogLevel
		want string
	}{
		{astiav.LogLevelPanic, "ERROR"}, {astiav.LogLevelError, "ERROR"}, {astiav.LogLevelWarning, "WARN"},
		{astiav.LogLevelInfo, "DEBUG"}, {astiav.LogLevelVerbose, "DEBUG"}, {astiav.LogLevelDebug, "DEBUG"},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, ffmpegLevel(tc.in).String())
	}
}

// TestRouteFFmpegLog checks that FFmpeg's own messages arrive in slog with
// the component name.
func TestRouteFFmpegLog(t *testing.T) {
	var logs logBuffer
	RouteFFmpegLog(testLogger(&logs))
	defer RouteFFmpegLog(quietLogger())
	e := &H264{Encoder: "libx264", Width: 64, Height: 64, FPS: 30, Logger: quietLogger()}
	require.NoError(t, e.Initialize())
	e.Close()
	require.Contains(t, logs.String(), "ffmpeg=libx264")
	require.Contains(t, logs.String(), "stage=ffmpeg")
}
