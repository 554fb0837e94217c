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
	// KindFile is a media file: "file:PATH[?loop=0]" as a video source,
	// "file" as audio (the audio track of the video source's file).
	KindFile Kind = "file"
)

// Spec is a parsed --source or --audio value.
type Spec struct {
	Kind Kind
	// Index is the device number for camera and mic; -1 means "the
	// default" (the first camera, the system's default microphone).
	Index int
	// Path is the media file of file:PATH; "" for the audio spec "file".
	Path string
	// Once is file:PATH?loop=0: play the file once, then end the stream.
	Once bool
}

// String returns the spec in the form Parse reads.
func (s Spec) String() string {
	if s.Kind == KindFile && s.Path != "" {
		switch {
		case s.Once:
			return "file:" + s.Path + "?loop=0"
		case strings.Contains(s.Path, "?"):
			return "file:" + s.Path + "?loop=1" // so that the path's own '?' stays in it
		}
		return "file:" + s.Path
	}
	if (s.Kind == KindCamera || s.Kind == KindMic) && s.Index >= 0 {
		return fmt.Sprintf("%s:%d", s.Kind, s.Index)
	}
	return string(s.Kind)
}

// Parse reads a source spec: "test", "camera", "camera:N", "mic",
// "mic:N" or "none" (case-insensitive, surrounding spaces ignored; N is a
// decimal device number from `golive devices`, 0..999), or a media file,
// "file:PATH" (see parseFileSpec).
func Parse(spec string) (Spec, error) {
	if s, ok, err := parseFileSpec(spec); ok {
		return s, err
	}
	s := strings.ToLower(strings.TrimSpace(spec))
	name, num, hasNum := strings.Cut(s, ":")
	k := Kind(name)
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
	return Spec{}, fmt.Errorf("%w: %q (want test, camera[:N], file:PATH, mic[:N], file or none)", ErrBadSpec, spec)
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
	case s.Path == "":
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
// pattern, a camera or a media file. "none", "mic" and the audio-only
// "file" are refused with ErrBadSpec.
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
