package ingest

import (
	"context"
	"io"
	"log/slog"

	"github.com/sirupsen/logrus"
)

// slogHook forwards go-rtmp's logrus entries to a slog.Logger: its chatty
// Info lines at Debug, its warnings and errors at Warn.
type slogHook struct{ log *slog.Logger }

func (h slogHook) Levels() []logrus.Level { return logrus.AllLevels }

func (h slogHook) Fire(e *logrus.Entry) error {
	level := slog.LevelDebug
	if e.Level <= logrus.WarnLevel {
		level = slog.LevelWarn
	}
	if !h.log.Enabled(context.Background(), level) {
		return nil
	}
	attrs := make([]any, 0, 2*len(e.Data))
	for k, v := range e.Data {
		attrs = append(attrs, k, v)
	}
	h.log.Log(context.Background(), level, "go-rtmp: "+e.Message, attrs...)
	return nil
}

// newLogrus returns a logrus logger that writes nothing itself and
// forwards every entry to log.
func newLogrus(log *slog.Logger) logrus.FieldLogger {
	l := logrus.New()
	l.Out = io.Discard
	l.Level = logrus.DebugLevel
	if !log.Enabled(context.Background(), slog.LevelDebug) {
		l.Level = logrus.WarnLevel
	}
	l.AddHook(slogHook{log: log})
	return l
}
