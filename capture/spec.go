package capture

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/gen2brain/malgo"
)

// ErrBadSpec is returned by Parse for a source spec it does not accept,
// and by Spec.Video/Spec.Audio for a spec of the wrong kind.
var ErrBadSpec = errors.New("capture: bad source spec")

// Kind is what a Spec names.
type Kind string

// The kinds of source a Spec can name.
const (
	KindTest   Kind = "test"
	KindCamera Kind = "camera"
	KindMic    Kind = "mic"
	KindNone   Kind = "none"
	// KindScreen is a whole display ("screen", "screen:N").
	KindScreen Kind = "screen"
	// KindWindow is one window, found by its title ("window:TITLE").
	KindWindow Kind = "window"
	// KindFile is a media file: "file:PATH[?loop=0]" as a video source,
	// "file" as audio (the audio track of the video source's file).
	KindFile Kind = "file"
)

// Spec is a parsed --source or --audio value.
type Spec struct {
	Kind Kind
	// Index is the device number for camera and mic; -1 means "the
	// default" (the first camera, the system's default microphone); for
	// screen it is the display number (-1: the first).
	Index int
	// Name is the window title of window:TITLE.
	Name string
	// Grab is the region, cursor and rate of a screen or window capture.
	Grab Grab
	// Path is the media file of file:PATH; "" for the audio spec "file".
	Path string
	// Once is file:PATH?loop=0: play the file once, then end the stream.
	Once bool
}

// Grab is what part of a screen or window is captured, and how: the
// ?x=&y=&w=&h=&cursor=&fps= of a screen or window spec. The zero value
// captures the whole area with the cursor at the output frame rate.
type Grab struct {
	// X, Y, W and H are the region in the screen's (or window's) pixels;
	// W = H = 0 captures it all.
	X, Y, W, H int
	// HideCursor leaves the mouse pointer out (cursor=0).
	HideCursor bool
	// FPS is the capture rate; 0: the output's.
	FPS int
}

// query returns g as a spec's query string ("" for the zero value).
func (g Grab) query() string {
	var q []string
	if g.W > 0 {
		q = append(q, fmt.Sprintf("x=%d&y=%d&w=%d&h=%d", g.X, g.Y, g.W, g.H))
	}
	if g.HideCursor {
		q = append(q, "cursor=0")
	}
	if g.FPS > 0 {
		q = append(q, fmt.Sprintf("fps=%d", g.FPS))
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + strings.Join(q, "&")
}

// parseGrab reads a screen or window spec's query (without the '?').
func parseGrab(spec, q string) (Grab, error) {
	var g Grab
	seen := map[string]bool{}
	for _, kv := range strings.Split(q, "&") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || seen[k] {
			return Grab{}, fmt.Errorf("%w: %q: want ?x=&y=&w=&h=&cursor=0|1&fps=N, each once", ErrBadSpec, spec)
		}
		seen[k] = true
		if k == "cursor" {
			switch strings.ToLower(v) {
			case "0", "off", "false", "no":
				g.HideCursor = true
			case "1", "on", "true", "yes":
			default:
				return Grab{}, fmt.Errorf("%w: %q: cursor=%q (want 0 or 1)", ErrBadSpec, spec, v)
			}
			continue
		}
		ptr := map[string]*int{"x": &g.X, "y": &g.Y, "w": &g.W, "h": &g.H, "fps": &g.FPS}[k]
		if ptr == nil {
			return Grab{}, fmt.Errorf("%w: %q: unknown option %q (want x, y, w, h, cursor, fps)", ErrBadSpec, spec, k)
		}
		if v == "" || len(v) > 5 || strings.TrimLeft(v, "0123456789") != "" {
			return Grab{}, fmt.Errorf("%w: %q: %s=%q (want 0..99999)", ErrBadSpec, spec, k, v)
		}
		*ptr, _ = strconv.Atoi(v)
	}
	region := seen["x"] || seen["y"] || seen["w"] || seen["h"]
	if region && (!seen["w"] || !seen["h"] || g.W < 2 || g.H < 2 || g.W > 16384 || g.H > 16384) {
		return Grab{}, fmt.Errorf("%w: %q: a region needs w and h of 2..16384 (x and y default 0)", ErrBadSpec, spec)
	}
	if seen["fps"] && (g.FPS < 1 || g.FPS > 240) {
		return Grab{}, fmt.Errorf("%w: %q: fps %d (want 1..240)", ErrBadSpec, spec, g.FPS)
	}
	return g, nil
}

// String returns the spec in the form Parse reads.
func (s Spec) String() string {
	if s.Kind == KindFile && s.Path != "" {
		switch {
		case s.Once:
			return "file:" + s.Path + "?loop=0"
		case strings.Contains(s.Path, "?") || strings.TrimRight(s.Path, " \t\r\n\v\f") != s.Path:
			return "file:" + s.Path + "?loop=1" // so that the path's own '?' or trailing space stays in it
		}
		return "file:" + s.Path
	}
	switch {
	case s.Kind == KindWindow:
		return fmt.Sprintf("%s:%s%s", s.Kind, s.Name, s.Grab.query())
	case s.Kind == KindScreen && s.Index >= 0:
		return fmt.Sprintf("%s:%d%s", s.Kind, s.Index, s.Grab.query())
	case s.Kind == KindScreen:
		return string(s.Kind) + s.Grab.query()
	case (s.Kind == KindCamera || s.Kind == KindMic) && s.Index >= 0:
		return fmt.Sprintf("%s:%d", s.Kind, s.Index)
	}
	return string(s.Kind)
}

// Parse reads a source spec: "test", "camera", "camera:N", "mic",
// "mic:N", "none", "screen", "screen:N" or "window:TITLE" (the kind is
// case-insensitive, surrounding spaces are ignored; N is a decimal device
// number from `golive devices`, 0..999), or a media file, "file:PATH" (see
// parseFileSpec). A screen or window spec may end in
// ?x=&y=&w=&h=&cursor=0|1&fps=N (see Grab); a window title keeps its case
// and may hold ':' and '?'.
func Parse(spec string) (Spec, error) {
	if s, ok, err := parseFileSpec(spec); ok {
		return s, err
	}
	s := strings.TrimSpace(spec)
	name, num, hasNum := strings.Cut(s, ":")
	if i := strings.IndexByte(name, '?'); i >= 0 { // "screen?x=..."
		name, num, hasNum = s[:i], s[i:], true
	}
	k := Kind(strings.ToLower(name))
	if k == KindScreen || k == KindWindow {
		return parseCapture(spec, k, num, hasNum)
	}
	num = strings.ToLower(num)
	switch k {
	case KindTest, KindNone:
		if hasNum {
			return Spec{}, fmt.Errorf("%w: %q takes no device number", ErrBadSpec, spec)
		}
		return Spec{Kind: k, Index: -1}, nil
	case KindCamera, KindMic:
		if !hasNum {
			return Spec{Kind: k, Index: -1}, nil
		}
		if num == "" || len(num) > 3 || strings.TrimLeft(num, "0123456789") != "" {
			return Spec{}, fmt.Errorf("%w: %q: device number must be 0..999", ErrBadSpec, spec)
		}
		n, err := strconv.Atoi(num)
		if err != nil {
			return Spec{}, fmt.Errorf("%w: %q: %w", ErrBadSpec, spec, err)
		}
		return Spec{Kind: k, Index: n}, nil
	}
	return Spec{}, fmt.Errorf("%w: %q (want test, camera[:N], screen[:N], window:TITLE, file:PATH, mic[:N], file or none)", ErrBadSpec, spec)
}

// parseCapture reads the rest of a screen or window spec: rest is what
// follows the first ':' (hasRest tells whether there was one).
func parseCapture(spec string, k Kind, rest string, hasRest bool) (Spec, error) {
	out := Spec{Kind: k, Index: -1}
	name := rest
	if i := strings.LastIndexByte(rest, '?'); i >= 0 && strings.Contains(rest[i:], "=") {
		g, err := parseGrab(spec, rest[i+1:])
		if err != nil {
			return Spec{}, err
		}
		out.Grab, name = g, rest[:i]
	}
	if k == KindWindow {
		if !hasRest || strings.TrimSpace(name) == "" || len(name) > 256 || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return Spec{}, fmt.Errorf("%w: %q: want window:TITLE (1..256 printable characters)", ErrBadSpec, spec)
		}
		if i := strings.LastIndexByte(name, '?'); i >= 0 && strings.Contains(name[i:], "=") {
			return Spec{}, fmt.Errorf("%w: %q: a title ending in ?NAME=VALUE is taken for options; give the options after it", ErrBadSpec, spec)
		}
		out.Name = name
		return out, nil
	}
	if !hasRest {
		return out, nil
	}
	if name == "" && strings.HasPrefix(rest, "?") {
		return out, nil
	}
	if name == "" || len(name) > 3 || strings.TrimLeft(name, "0123456789") != "" {
		return Spec{}, fmt.Errorf("%w: %q: screen number must be 0..999", ErrBadSpec, spec)
	}
	out.Index, _ = strconv.Atoi(name)
	return out, nil
}

// parseFileSpec reads "file:PATH[?loop=0|1]" (PATH kept as written, up to
// 4096 bytes, no NUL; a '?' in it stays unless the text after the last one
// is loop=0 or loop=1) and "file" alone (the audio of the video source's
// file); ok is false for any other kind.
func parseFileSpec(spec string) (s Spec, ok bool, err error) {
	t := strings.TrimSpace(spec)
	if strings.EqualFold(t, string(KindFile)) {
		return Spec{Kind: KindFile, Index: -1}, true, nil
	}
	if len(t) < 5 || !strings.EqualFold(t[:5], "file:") {
		return Spec{}, false, nil
	}
	s = Spec{Kind: KindFile, Index: -1, Path: t[5:]}
	if i := strings.LastIndexByte(s.Path, '?'); i >= 0 {
		if k, v, _ := strings.Cut(s.Path[i+1:], "="); strings.EqualFold(k, "loop") {
			switch v {
			case "0":
				s.Once = true
			case "1":
			default:
				return Spec{}, true, fmt.Errorf("%w: %q: loop=%q (want loop=0 or loop=1)", ErrBadSpec, spec, v)
			}
			s.Path = s.Path[:i]
		}
	}
	switch {
	case strings.TrimSpace(s.Path) == "":
		return Spec{}, true, fmt.Errorf("%w: %q: no file named (want file:PATH)", ErrBadSpec, spec)
	case len(s.Path) > 4096 || strings.IndexByte(s.Path, 0) >= 0:
		return Spec{}, true, fmt.Errorf("%w: %q: not a file name", ErrBadSpec, spec)
	}
	return s, true, nil
}

// Options are the settings Spec.Video and Spec.Audio give the source.
type Options struct {
	// Width, Height and FPS are the asked picture; defaults 1280×720@30.
	Width, Height, FPS int
	// Clock is the capture clock; share one between video and audio.
	Clock Clock
	// MicBackends are miniaudio backends for a microphone (nil: default).
	MicBackends []malgo.Backend
	// File is the video source's media file, whose audio track the audio
	// spec "file" names.
	File *File
	// Logger receives the source's log.
	Logger *slog.Logger
}

// Video returns the (uninitialized) video source the spec names: the test
// pattern, a camera, a screen, a window or a media file. "none", "mic"
// and the audio-only "file" are refused with ErrBadSpec.
func (s Spec) Video(o Options) (VideoSource, error) {
	switch s.Kind {
	case KindFile:
		if s.Path == "" {
			return nil, fmt.Errorf("%w: \"file\" names a video source's audio; a video source is file:PATH", ErrBadSpec)
		}
		return &File{Path: s.Path, Once: s.Once, Width: o.Width, Height: o.Height, Clock: o.Clock, Logger: o.Logger}, nil
	case KindTest:
		return &TestPattern{Width: o.Width, Height: o.Height, FPS: o.FPS, Clock: o.Clock, Logger: o.Logger}, nil
	case KindCamera:
		return &Camera{Index: max(s.Index, 0), Width: o.Width, Height: o.Height, FPS: o.FPS, Clock: o.Clock, Logger: o.Logger}, nil
	case KindScreen, KindWindow:
		return &Screen{Spec: s, Width: o.Width, Height: o.Height, FPS: o.FPS, Clock: o.Clock, Logger: o.Logger}, nil
	}
	return nil, fmt.Errorf("%w: %q is not a video source", ErrBadSpec, s.String())
}

// Audio returns the (uninitialized) audio source the spec names: the tone,
// a microphone, or ("file") the audio track of o.File; for "none" it
// returns nil and no error. "camera", "file" without o.File and
// "file:PATH" are refused with ErrBadSpec.
func (s Spec) Audio(o Options) (AudioSource, error) {
	switch s.Kind {
	case KindFile:
		if s.Path != "" || o.File == nil {
			return nil, fmt.Errorf("%w: audio \"file\" is the audio of the video source's file: use it with --source file:PATH", ErrBadSpec)
		}
		a := o.File.Audio()
		return a, nil
	case KindTest:
		return &Tone{Clock: o.Clock, Logger: o.Logger}, nil
	case KindMic:
		return &Microphone{Index: s.Index, Backends: o.MicBackends, Clock: o.Clock, Logger: o.Logger}, nil
	case KindNone:
		return nil, nil
	}
	return nil, fmt.Errorf("%w: %q is not an audio source", ErrBadSpec, s.String())
}
