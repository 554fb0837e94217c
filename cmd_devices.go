package main

import (
	"context"
	"fmt"
	"io"
	"runtime"

	"golive/encoder"
)

func runDevices(_ context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "golive devices: takes no arguments\n")
		return exitUsage
	}
	logger := newLogger(stderr, false)
	fmt.Fprintf(stdout, "H.264 encoders (%s, each opened with a test frame):\n", runtime.GOOS)
	picked := false
	for _, r := range encoder.Probe(logger) {
		mark, kind := " ", "software"
		if r.Hardware {
			kind = "hardware"
		}
		status := "ok"
		if r.Err != nil {
			status = "unavailable: " + oneLine(r.Err)
		} else if !picked {
			mark, picked = "*", true
		}
		fmt.Fprintf(stdout, "  %s %-18s %-8s %s\n", mark, r.Name, kind, status)
	}
	if picked {
		fmt.Fprintln(stdout, "  (* = what --encoder auto picks)")
	} else {
		fmt.Fprintln(stdout, "  no H.264 encoder opens here")
	}
	return 0
}
