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
)

// Spec is a parsed --source or --audio value.
type Spec struct {
	Kind Kind
	// Index is the device number for camera and mic; -1 means "the
	// default" (the first camera, the system's default microphone).
	Index int
}

// String returns the spec in the form Parse reads.
func (s Spec) String() string {
	if (s.Kind == KindCamera || s.Kind == KindMic) && s.Index >= 0 {
		return fmt.Sprintf("%s:%d", s.Kind, s.Index)
	}
	return string(s.Kind)
}

// Parse reads a source spec: "test", "camera", "camera:N", "mic",
// "mic:N" or "none" (case-insensitive, surrounding spaces ignored; N is a
// decimal device number from `golive devices`, 0..999).
func Parse(spec string) (Spec, error) {
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
	return Spec{}, fmt.Errorf("%w: %q (want test, camera[:N], mic[:N] or none)", ErrBadSpec, spec)
}

// Options are the settings Spec.Video and Spec.Audio give the source.
type Options struct {
	// Width, Height and FPS are the asked picture; defaults 1280×720@30.
	Width, Height, FPS int
	// Clock is the capture clock; share one between video and audio.
	Clock Clock
	// MicBackends are miniaudio backends for a microphone (nil: default).
	MicBackends []malgo.Backend
	// Logger receives the source's log.
	Logger *slog.Logger
}

// Video returns the (uninitialized) video source the spec names: the test
// pattern or a camera. "none" and "mic" are refused with ErrBadSpec.
func (s Spec) Video(o Options) (VideoSource, error) {
	switch s.Kind {
	case KindTest:
		return &TestPattern{Width: o.Width, Height: o.Height, FPS: o.FPS, Clock: o.Clock, Logger: o.Logger}, nil
	case KindCamera:
		return &Camera{Index: max(s.Index, 0), Width: o.Width, Height: o.Height, FPS: o.FPS, Clock: o.Clock, Logger: o.Logger}, nil
	}
	return nil, fmt.Errorf("%w: %q is not a video source", ErrBadSpec, s.String())
}

// Audio returns the (uninitialized) audio source the spec names: the tone
// or a microphone; for "none" it returns nil and no error. "camera" is
// refused with ErrBadSpec.
func (s Spec) Audio(o Options) (AudioSource, error) {
	switch s.Kind {
	case KindTest:
		return &Tone{Clock: o.Clock, Logger: o.Logger}, nil
	case KindMic:
		return &Microphone{Index: s.Index, Backends: o.MicBackends, Clock: o.Clock, Logger: o.Logger}, nil
	case KindNone:
		return nil, nil
	}
	return nil, fmt.Errorf("%w: %q is not an audio source", ErrBadSpec, s.String())
}
