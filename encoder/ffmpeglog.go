package encoder

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/asticode/go-astiav"
)

// ffmpegLogBurst is how many FFmpeg lines pass per second; the rest are
// counted and reported with the next line that passes (a corrupt stream
// makes the decoder log per macroblock).
const ffmpegLogBurst = 20

// RouteFFmpegLog sends FFmpeg's log messages to logger (main calls it
// once; a later call replaces the route). FFmpeg errors become slog
// errors, warnings warnings, and its chatty info and verbose lines debug
// records, each with the emitting FFmpeg component as "ffmpeg". At most
// 20 lines a second get through; the number suppressed is reported as
// "suppressed" on the next one. FFmpeg's own level is set to info when
// logger takes debug records, to warning otherwise.
func RouteFFmpegLog(logger *slog.Logger) {
	if logger == nil {
		logger = slog.Default()
	}
	lim := &logLimiter{burst: ffmpegLogBurst, now: time.Now}
	logger = logger.With("stage", "ffmpeg")
	// FFmpeg's info lines become debug records: only ask FFmpeg for them
	// when they will be logged. (go-astiav formats each line into a
	// 1 KiB buffer; x264's long "options:" line is an info line.)
	if logger.Enabled(context.Background(), slog.LevelDebug) {
		astiav.SetLogLevel(astiav.LogLevelInfo)
	} else {
		astiav.SetLogLevel(astiav.LogLevelWarning)
	}
	astiav.SetLogCallback(func(c astiav.Classer, l astiav.LogLevel, _, msg string) {
		level := ffmpegLevel(l)
		ctx := context.Background()
		if !logger.Enabled(ctx, level) {
			return
		}
		ok, suppressed := lim.allow()
		if !ok {
			return
		}
		component := ""
		if c != nil {
			if cl := c.Class(); cl != nil {
				component = cl.ItemName()
			}
		}
		attrs := []any{"ffmpeg", component}
		if suppressed > 0 {
			attrs = append(attrs, "suppressed", suppressed)
		}
		logger.Log(ctx, level, strings.TrimSpace(msg), attrs...)
	})
}

// ffmpegLevel maps an FFmpeg log level onto slog's.
func ffmpegLevel(l astiav.LogLevel) slog.Level {
	switch {
	case l <= astiav.LogLevelError:
		return slog.LevelError
	case l <= astiav.LogLevelWarning:
		return slog.LevelWarn
	default:
		return slog.LevelDebug
	}
}

// logLimiter lets burst lines through per one-second window and counts
// the others; FFmpeg may log from any thread.
type logLimiter struct {
	burst int
	now   func() time.Time

	mu         sync.Mutex
	window     time.Time
	n          int
	suppressed int
}

// allow reports whether a line may be logged and, if so, how many were
// dropped since the last one that was.
func (l *logLimiter) allow() (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.window) >= time.Second {
		l.window, l.n = now, 0
	}
	if l.n >= l.burst {
		l.suppressed++
		return false, 0
	}
	l.n++
	s := l.suppressed
	l.suppressed = 0
	return true, s
}
