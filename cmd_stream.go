package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"golive/broadcast"
	"golive/encoder"
	"golive/media"
	"golive/preview/scene"
)

// stringList is a flag that may be given several times.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// parseStreamFlags turns `golive stream` arguments into a broadcast config
// and a duration (0: until interrupted).
func parseStreamFlags(args []string, stderr io.Writer) (broadcast.Config, time.Duration, bool, error) {
	fs := flag.NewFlagSet("golive stream", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line by the caller
	var (
		cfg                                  broadcast.Config
		to                                   stringList
		size, fps, bitrate, abitrate, durStr string
		scenePath                            string
		verbose                              bool
	)
	fs.Var(&to, "to", "RTMP(S) publish URL, or http(s)://KEY@HOST/whip for WHIP; repeat for multistream")
	fs.StringVar(&cfg.Source, "source", "test", "video source: test, camera[:N], screen[:N], window:TITLE (screen/window: ?x=&y=&w=&h=&cursor=0|1&fps=N) or file:PATH (a media file, looped; file:PATH?loop=0 plays it once)")
	fs.StringVar(&scenePath, "scene", "", "compose the video from a scene file (JSON: layers over the source; see README)")
	fs.StringVar(&cfg.Audio, "audio", "test", "audio source: test, mic[:N], file (the audio of --source file:PATH) or none")
	fs.StringVar(&size, "size", "1280x720", "frame size WIDTHxHEIGHT")
	fs.StringVar(&fps, "fps", "30", "frame rate")
	fs.StringVar(&bitrate, "bitrate", "3000k", "video bitrate")
	fs.StringVar(&abitrate, "audio-bitrate", "128k", "audio bitrate")
	fs.StringVar(&cfg.Encoder, "encoder", "auto", "H.264 encoder: auto or an FFmpeg encoder name")
	fs.StringVar(&cfg.Record, "record", "", "also record to FILE (.mp4 fragmented, or .mkv)")
	fs.StringVar(&durStr, "duration", "0", "stop after this long (e.g. 30s); 0 streams until Ctrl-C")
	fs.BoolVar(&cfg.FixedBitrate, "fixed-bitrate", false, "keep --bitrate even when the link cannot carry it (default: adapt)")
	fs.BoolVar(&verbose, "verbose", false, "log every stage, FFmpeg included, to stderr")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "usage: golive stream --to URL [flags]")
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return cfg, 0, false, err
		}
		return cfg, 0, false, fmt.Errorf("%w: %w", media.ErrBadOption, err)
	}
	if fs.NArg() > 0 {
		return cfg, 0, false, fmt.Errorf("%w: unexpected argument %q", media.ErrBadOption, fs.Arg(0))
	}
	var err error
	cfg.Destinations = to
	if cfg.Width, cfg.Height, err = broadcast.ParseSize(size); err != nil {
		return cfg, 0, false, err
	}
	if cfg.FPS, err = broadcast.ParseFPS(fps); err != nil {
		return cfg, 0, false, err
	}
	if cfg.Bitrate, err = media.ParseBitrate(bitrate); err != nil {
		return cfg, 0, false, err
	}
	if cfg.AudioBitrate, err = media.ParseBitrate(abitrate); err != nil {
		return cfg, 0, false, err
	}
	dur, err := time.ParseDuration(durStr)
	if err != nil || dur < 0 {
		return cfg, 0, false, fmt.Errorf("%w: duration %q: want e.g. 30s or 10m", media.ErrBadOption, durStr)
	}
	if scenePath != "" {
		if cfg.Scene, err = readScene(scenePath, fs, cfg); err != nil {
			return cfg, 0, false, err
		}
	}
	return cfg, dur, verbose, cfg.Validate()
}

// readScene reads --scene and checks it against the picture it will be
// drawn on (images read, every layer inside the picture); --source, when
// given, wins over the scene's own source.
func readScene(path string, fs *flag.FlagSet, cfg broadcast.Config) (*scene.Scene, error) {
	sc, err := scene.ReadFile(path)
	if err == nil {
		_, err = scene.Prepare(sc, cfg.Width, cfg.Height, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: --scene %s: %w", media.ErrBadOption, path, err)
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "source" {
			sc.Source = ""
		}
	})
	return &sc, nil
}

func runStream(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, dur, verbose, err := parseStreamFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "golive stream: %v\n", err)
		return exitUsage
	}
	logger := newLogger(stderr, verbose)

	b := &broadcast.Broadcast{Config: cfg, Logger: logger}
	if err := b.Initialize(); err != nil {
		fmt.Fprintf(stderr, "golive stream: %v\n", err)
		if errors.Is(err, media.ErrBadOption) { // a media file it cannot play
			return exitUsage
		}
		return 1
	}
	defer b.Close()
	if err := b.GoLive(ctx, cfg.Destinations); err != nil {
		fmt.Fprintf(stderr, "golive stream: %v\n", oneLine(err))
		return 1
	}
	st := b.Stats()
	fmt.Fprintf(stdout, "live: encoder %s (%s), %dx%d@%d, %d destination(s)\n",
		st.Encoder, map[bool]string{true: "hardware", false: "software"}[st.Hardware],
		cfg.Width, cfg.Height, cfg.FPS, len(cfg.Destinations))

	var deadline <-chan time.Time
	if dur > 0 {
		deadline = time.After(dur)
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	ended := b.LiveDone()
	for {
		select {
		case <-tick.C:
			fmt.Fprintln(stdout, statusLine(b.Stats()))
		case <-ended:
			fmt.Fprintf(stderr, "golive stream: %v\n", oneLine(b.Err()))
			return 1
		case <-deadline:
			return finish(b, "done:", stdout, stderr)
		case <-b.SourceDone(): // a media file played once
			return finish(b, "done: the source ended;", stdout, stderr)
		case <-ctx.Done():
			return finish(b, "stopped:", stdout, stderr)
		}
	}
}

// finish stops the stream, flushing every destination within its flush
// timeout, says what each server took and what did not make it, and
// returns the exit code: 1 when a destination never took the stream.
func finish(b *broadcast.Broadcast, word string, stdout, stderr io.Writer) int {
	last := b.Stats()
	b.StopLive()
	fmt.Fprintln(stdout, word, statusLine(last))
	sum, ok := b.LastSummary()
	if !ok {
		return 0
	}
	code := 0
	for _, d := range sum.Destinations {
		fmt.Fprintln(stdout, deliveryLine(sum, d))
		if !sum.Took(d) {
			fmt.Fprintf(stderr, "golive stream: %s: the server never took the stream (%d of %d frames acknowledged)\n",
				d.URL, d.FramesDelivered, sum.Frames)
			code = 1
		}
	}
	return code
}

// deliveryLine says what one destination's server took of the stream.
func deliveryLine(sum broadcast.Summary, d broadcast.DestinationSummary) string {
	fps := float64(max(1, sum.FPS))
	line := fmt.Sprintf("%s: the server took %d of %d frames (%.1fs of %.1fs)", d.URL, d.FramesDelivered, sum.Frames,
		float64(d.FramesDelivered)/fps, float64(sum.Frames)/fps)
	missing := sum.Missing(d)
	if missing == 0 {
		return line + "; everything made it"
	}
	line += fmt.Sprintf("; %d frames (%.1fs) did not make it", missing, float64(missing)/fps)
	if d.Undelivered > 0 {
		line += fmt.Sprintf(", %.1fs of them still queued or unacknowledged at the end", d.Undelivered.Seconds())
	}
	if d.Err != "" {
		line += fmt.Sprintf(" (%s)", d.Err)
	}
	return line
}

// statusLine formats the once-per-second status line of `golive stream`:
// bitrate is what the encoders make, link what the server(s) acknowledged,
// queue how far behind the stream the furthest server is.
func statusLine(st broadcast.Stats) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "state=%s bitrate=%dkbps link=%dkbps target=%dkbps fps=%.1f/%d dropped=%d skipped=%d queue=%dms",
		st.State, st.Bitrate/1000, st.LinkBitrate/1000, st.TargetBitrate/1000, st.FPS, st.TargetFPS, st.Dropped, st.Skipped, st.Queue.Milliseconds())
	for _, d := range st.Destinations {
		if len(st.Destinations) == 1 && d.State == "live" {
			break
		}
		fmt.Fprintf(&sb, " [%s %s link=%dkbps queue=%dms dropped=%d", d.URL, d.State, d.LinkBitrate/1000, d.Queue.Milliseconds(), d.Dropped)
		if d.Behind {
			sb.WriteString(" behind")
		}
		if d.State == "reconnecting" {
			fmt.Fprintf(&sb, " attempt=%d", d.Attempts+1)
			if !d.NextAttempt.IsZero() {
				fmt.Fprintf(&sb, " in=%ds", max(0, int(time.Until(d.NextAttempt).Round(time.Second).Seconds())))
			}
			if d.Err != "" {
				fmt.Fprintf(&sb, " reason=%q", d.Err)
			}
		}
		sb.WriteString("]")
	}
	return sb.String()
}

// oneLine joins a possibly multi-line (errors.Join) error into one line.
func oneLine(err error) string {
	if err == nil {
		return "stream ended"
	}
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

// newLogger logs warnings and errors to w, or everything (FFmpeg's own log
// included) when verbose. FFmpeg is otherwise quiet: its errors while
// hardware encoders are probed are expected, and our stages report what matters.
func newLogger(w io.Writer, verbose bool) *slog.Logger {
	if verbose {
		logger := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
		encoder.RouteFFmpegLog(logger)
		return logger
	}
	encoder.RouteFFmpegLog(slog.New(slog.DiscardHandler))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
