package encoder

import (
	"context"
	"log/slog"
	"strings"

	"github.com/asticode/go-astiav"
)

// RouteFFmpegLog sends FFmpeg's log messages to logger (main calls it
// once). FFmpeg errors become slog errors, warnings warnings, and its
// chatty info and verbose lines debug records, each with the emitting
// FFmpeg component as "ffmpeg". FFmpeg's own level is set to info.
func RouteFFmpegLog(logger *slog.Logger) {
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("stage", "ffmpeg")
	astiav.SetLogLevel(astiav.LogLevelInfo)
	astiav.SetLogCallback(func(c astiav.Classer, l astiav.LogLevel, _, msg string) {
		level := ffmpegLevel(l)
		ctx := context.Background()
		if !logger.Enabled(ctx, level) {
			return
		}
		component := ""
		if c != nil {
			if cl := c.Class(); cl != nil {
				component = cl.Name()
			}
		}
		logger.Log(ctx, level, strings.TrimSpace(msg), "ffmpeg", component)
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
