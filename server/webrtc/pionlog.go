package webrtc

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// pionLogs routes pion's loggers into a slog.Logger: pion's errors become
// warnings and its warnings debug records (a viewer's vanished network is
// not the server's error); its info, debug and trace records are dropped.
type pionLogs struct{ log *slog.Logger }

// NewLogger returns the logger of one pion scope ("ice", "dtls", …).
func (p pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{log: p.log.With("pion", scope)}
}

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) emit(level slog.Level, format string, args ...any) {
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	if len(args) > 0 {
		format = fmt.Sprintf(format, args...)
	}
	l.log.Log(context.Background(), level, format)
}

func (l pionLogger) Trace(string)                      {}
func (l pionLogger) Tracef(string, ...any)             {}
func (l pionLogger) Debug(string)                      {}
func (l pionLogger) Debugf(string, ...any)             {}
func (l pionLogger) Info(string)                       {}
func (l pionLogger) Infof(string, ...any)              {}
func (l pionLogger) Warn(msg string)                   { l.emit(slog.LevelDebug, "%s", msg) }
func (l pionLogger) Warnf(format string, args ...any)  { l.emit(slog.LevelDebug, format, args...) }
func (l pionLogger) Error(msg string)                  { l.emit(slog.LevelWarn, "%s", msg) }
func (l pionLogger) Errorf(format string, args ...any) { l.emit(slog.LevelWarn, format, args...) }
