package main

import (
	"context"
	"fmt"
	"io"
	"runtime"

	"golive/capture"
	"golive/encoder"
)

func runDevices(_ context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "golive devices: takes no arguments\n")
		return exitUsage
	}
	logger := newLogger(stderr, false)
	listCameras(stdout)
	listMicrophones(stdout)
	listScreens(stdout)
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

// listCameras prints the cameras with their modes, or says there are none.
func listCameras(w io.Writer) {
	cams := capture.ListCameras()
	if len(cams) == 0 {
		fmt.Fprintln(w, "Cameras: none found (--source test streams the test pattern)")
		return
	}
	fmt.Fprintln(w, "Cameras (--source camera:N):")
	for _, c := range cams {
		name := c.Name
		if name == "" {
			name = c.Label
		}
		fmt.Fprintf(w, "  %d  %s\n", c.Index, name)
		if c.Err != "" {
			fmt.Fprintf(w, "       %s\n", c.Err)
		}
		for _, m := range c.Modes {
			fmt.Fprintf(w, "       %dx%d @ %.4g fps %s\n", m.Width, m.Height, m.FPS, m.Format)
		}
	}
}

// listMicrophones prints the capture devices, or says there are none.
func listMicrophones(w io.Writer) {
	mics, err := capture.ListMicrophones(nil)
	if len(mics) == 0 {
		reason := ""
		if err != nil {
			reason = " (" + oneLine(err) + ")"
		}
		fmt.Fprintf(w, "Microphones: none found%s (--audio test sends a 1 kHz tone)\n", reason)
		return
	}
	fmt.Fprintln(w, "Microphones (--audio mic:N):")
	for _, m := range mics {
		def := ""
		if m.Default {
			def = " (default)"
		}
		fmt.Fprintf(w, "  %d  %s%s\n", m.Index, m.Name, def)
	}
}

// listScreens prints the screens and windows screen capture can take, or
// says why there are none.
func listScreens(w io.Writer) {
	screens, err := capture.ListScreens()
	if err != nil {
		fmt.Fprintf(w, "Screens: none (%s)\n", oneLine(err))
		return
	}
	fmt.Fprintln(w, "Screens (--source screen:N, add ?x=&y=&w=&h= for a region, &cursor=0 to hide the pointer, &fps=N):")
	for _, s := range screens {
		prim := ""
		if s.Primary {
			prim = " (primary)"
		}
		size := "size known once capture starts"
		if s.Width > 0 {
			size = fmt.Sprintf("%dx%d at %d,%d", s.Width, s.Height, s.X, s.Y)
		}
		fmt.Fprintf(w, "  %d  %s, %s%s\n", s.Index, s.Name, size, prim)
	}
	windows, err := capture.ListWindows()
	if err != nil {
		fmt.Fprintf(w, "Windows: not listed (%s)\n", oneLine(err))
		return
	}
	if len(windows) == 0 {
		fmt.Fprintln(w, "Windows: none with a title")
		return
	}
	fmt.Fprintln(w, "Windows (--source window:TITLE, the whole title or a unique part of it):")
	for _, win := range windows {
		fmt.Fprintf(w, "  %q  %dx%d\n", win.Title, win.Width, win.Height)
	}
}
