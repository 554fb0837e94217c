package encoder

import (
	"fmt"
	"log/slog"
	"runtime"

	"golive/media"
)

// AutoOrder returns the H.264 encoders "auto" tries on the operating
// system goos (runtime.GOOS values), hardware first, libx264 last.
func AutoOrder(goos string) []string {
	var hw []string
	switch goos {
	case "linux":
		hw = []string{"h264_nvenc", "h264_vaapi", "h264_qsv"}
	case "darwin":
		hw = []string{"h264_videotoolbox"}
	case "windows":
		hw = []string{"h264_nvenc", "h264_qsv", "h264_amf", "h264_mf"}
	}
	return append(hw, "libx264")
}

// ProbeResult tells whether one H.264 encoder works on this machine.
type ProbeResult struct {
	// Name is the FFmpeg encoder name.
	Name string
	// Hardware reports whether it is a hardware encoder.
	Hardware bool
	// Err is nil when the encoder opened and encoded a frame.
	Err error
}

// Probe tries every encoder of AutoOrder(runtime.GOOS): it opens each with
// a 256x144 configuration and encodes one frame, and reports the outcome.
func Probe(logger *slog.Logger) []ProbeResult {
	return probeNames(AutoOrder(runtime.GOOS), logger)
}

// probeNames probes the given encoder names in order.
func probeNames(names []string, logger *slog.Logger) []ProbeResult {
	if logger == nil {
		logger = slog.Default()
	}
	out := make([]ProbeResult, 0, len(names))
	for _, name := range names {
		r := ProbeResult{Name: name, Hardware: encoderSettings(name, &H264{}).Hardware}
		r.Err = probeOne(name, logger)
		logger.Debug("h264 encoder probed", "encoder", name, "hardware", r.Hardware, "err", r.Err)
		out = append(out, r)
	}
	return out
}

// probeOne opens name at 256x144 and encodes one frame through a flush.
func probeOne(name string, logger *slog.Logger) error {
	e := &H264{Encoder: name, Width: 256, Height: 144, FPS: 30, Bitrate: 300_000, Logger: logger}
	if err := e.Initialize(); err != nil {
		return err
	}
	defer e.Close()
	f := media.NewVideoFrame(256, 144)
	for i := range f.Y {
		f.Y[i] = byte(i)
	}
	for i := range f.U {
		f.U[i], f.V[i] = 128, 128
	}
	pkts, err := e.Encode(f, true)
	if err != nil {
		return err
	}
	more, err := e.Flush()
	if err != nil {
		return err
	}
	if len(pkts)+len(more) == 0 {
		return fmt.Errorf("%w: %s produced no packet", ErrCodec, name)
	}
	return nil
}
