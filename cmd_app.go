package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"golive/app/link"
)

// openApp opens the desktop window (bundled server, chat and pipeline
// start with it) and returns when it is closed or ctx is cancelled.
func openApp(ctx context.Context, _, stderr io.Writer) int {
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := link.Run(ctx, link.Options{Logger: logger}); err != nil {
		fmt.Fprintln(stderr, "golive:", err)
		return 1
	}
	return 0
}
