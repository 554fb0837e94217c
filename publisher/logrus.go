package publisher

import (
	"context"
	"io"
	"log/slog"

	"github.com/sirupsen/logrus"
)

// NewLogrus returns a logrus logger (what go-rtmp logs through) that
// forwards every entry to l, so go-rtmp's messages land in slog with the
// stage's attributes.
func NewLogrus(l *slog.Logger) *logrus.Logger {
	lr := logrus.New()
	lr.Out = io.Discard
	lr.Level = logrus.DebugLevel
	lr.AddHook(slogHook{l})
	return lr
}

type slogHook struct{ l *slog.Logger }

func (slogHook) Levels() []logrus.Level { return logrus.AllLevels }

func (h slogHook) Fire(e *logrus.Entry) error {
	level := slog.LevelDebug // go-rtmp is chatty at Info
	switch e.Level {
	case logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel:
		level = slog.LevelError
	case logrus.WarnLevel:
		level = slog.LevelWarn
	}
	attrs := make([]any, 0, 2*len(e.Data)+2)
	attrs = append(attrs, "lib", "go-rtmp")
	for k, v := range e.Data {
		attrs = append(attrs, k, v)
	}
	h.l.Log(context.Background(), level, e.Message, attrs...)
	return nil
}
