package main

import (
	"context"
	"fmt"
	"io"
)

// openApp opens the desktop window; the GUI arrives with its own issue.
func openApp(_ context.Context, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "golive: the desktop app is not built yet; use 'golive serve' and 'golive stream'")
	return 1
}
