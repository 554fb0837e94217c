package capture

import (
	"testing"

	"github.com/gen2brain/malgo"
	"github.com/stretchr/testify/require"
)

// specCases drives TestParse and seeds FuzzParse.
var specCases = []struct {
	in   string
	want Spec
	err  bool
}{
	{"test", Spec{Kind: KindTest, Index: -1}, false},
	{" TEST ", Spec{Kind: KindTest, Index: -1}, false},
	{"camera", Spec{Kind: KindCamera, Index: -1}, false},
	{"camera:0", Spec{Kind: KindCamera, Index: 0}, false},
	{"camera:12", Spec{Kind: KindCamera, Index: 12}, false},
	{"mic", Spec{Kind: KindMic, Index: -1}, false},
	{"mic:1", Spec{Kind: KindMic, Index: 1}, false},
	{"none", Spec{Kind: KindNone, Index: -1}, false},
	{"", Spec{}, true},
	{"camera:", Spec{}, true},
	{"camera:-1", Spec{}, true},
	{"camera:+1", Spec{}, true},
	{"camera:1000", Spec{}, true},
	{"camera:1:2", Spec{}, true},
	{"camera:x", Spec{}, true},
	{"test:0", Spec{}, true},
	{"none:1", Spec{}, true},
	{"webcam", Spec{}, true},
	{"mic: 1", Spec{}, true},
	{"screen", Spec{Kind: KindScreen, Index: -1}, false},
	{"Screen:1", Spec{Kind: KindScreen, Index: 1}, false},
	{"screen?x=10&y=20&w=640&h=360&cursor=0&fps=15", Spec{Kind: KindScreen, Index: -1, Grab: Grab{X: 10, Y: 20, W: 640, H: 360, HideCursor: true, FPS: 15}}, false},
	{"screen:0?w=640&h=360", Spec{Kind: KindScreen, Index: 0, Grab: Grab{W: 640, H: 360}}, false},
	{"screen:0?cursor=1", Spec{Kind: KindScreen, Index: 0}, false},
	{"window:My Editor: main.go?", Spec{Kind: KindWindow, Index: -1, Name: "My Editor: main.go?"}, false},
	{"window:Slides ?cursor=off", Spec{Kind: KindWindow, Index: -1, Name: "Slides ", Grab: Grab{HideCursor: true}}, false},
	{"window:golive-pattern?fps=10", Spec{Kind: KindWindow, Index: -1, Name: "golive-pattern", Grab: Grab{FPS: 10}}, false},
	{"screen:", Spec{}, true},
	{"screen:x", Spec{}, true},
	{"screen?x=1", Spec{}, true},
	{"screen?w=1&h=100", Spec{}, true},
	{"screen?w=100&h=100&w=20", Spec{}, true},
	{"screen?fps=0", Spec{}, true},
	{"screen?fps=500", Spec{}, true},
	{"screen?cursor=maybe", Spec{}, true},
	{"screen?zoom=2", Spec{}, true},
	{"screen?x=-1&w=10&h=10", Spec{}, true},
	{"window", Spec{}, true},
	{"window:", Spec{}, true},
	{"window:  ", Spec{}, true},
	{"window:a\x01b", Spec{}, true},
	{"window:a?fps=2?cursor=1", Spec{}, true},
	{"file:/videos/Intro Loop.mp4", Spec{Kind: KindFile, Index: -1, Path: "/videos/Intro Loop.mp4"}, false},
	{" FILE:clip.mkv?loop=0 ", Spec{Kind: KindFile, Index: -1, Path: "clip.mkv", Once: true}, false},
	{"file:clip.mkv?LOOP=1", Spec{Kind: KindFile, Index: -1, Path: "clip.mkv"}, false},
	{"file:what?.mp4", Spec{Kind: KindFile, Index: -1, Path: "what?.mp4"}, false},
	{"file:a?b=c?loop=0", Spec{Kind: KindFile, Index: -1, Path: "a?b=c", Once: true}, false},
	{"file:C:\\clips\\a.mp4", Spec{Kind: KindFile, Index: -1, Path: "C:\\clips\\a.mp4"}, false},
	{"file", Spec{Kind: KindFile, Index: -1}, false},
	{"file:", Spec{}, true},
	{"file:?loop=0", Spec{}, true},
	{"file: ?LOOP=1", Spec{}, true},
	{"file:a ?loop=1", Spec{Kind: KindFile, Index: -1, Path: "a "}, false},
	{"file:a.mp4?loop=2", Spec{}, true},
	{"file:a.mp4?loop=", Spec{}, true},
	{"file:a\x00b", Spec{}, true},
}

func TestParse(t *testing.T) {
	for _, c := range specCases {
		got, err := Parse(c.in)
		if c.err {
			require.ErrorIs(t, err, ErrBadSpec, "%q", c.in)
			continue
		}
		require.NoError(t, err, "%q", c.in)
		require.Equal(t, c.want, got, "%q", c.in)
		again, err := Parse(got.String())
		require.NoError(t, err)
		require.Equal(t, got, again)
	}
}

func TestSpecSources(t *testing.T) {
	clock := NewClock()
	o := Options{Width: 320, Height: 240, FPS: 15, Clock: clock, Logger: quietLog, MicBackends: []malgo.Backend{NullBackend}}
	v, err := Spec{Kind: KindTest, Index: -1}.Video(o)
	require.NoError(t, err)
	require.Equal(t, &TestPattern{Width: 320, Height: 240, FPS: 15, Clock: clock, Logger: quietLog}, v)
	v, err = Spec{Kind: KindCamera, Index: 2}.Video(o)
	require.NoError(t, err)
	require.Equal(t, 2, v.(*Camera).Index)
	_, err = Spec{Kind: KindNone, Index: -1}.Video(o)
	require.ErrorIs(t, err, ErrBadSpec)
	_, err = Spec{Kind: KindMic, Index: 0}.Video(o)
	require.ErrorIs(t, err, ErrBadSpec)

	a, err := Spec{Kind: KindNone, Index: -1}.Audio(o)
	require.NoError(t, err)
	require.Nil(t, a)
	a, err = Spec{Kind: KindTest, Index: -1}.Audio(o)
	require.NoError(t, err)
	require.IsType(t, &Tone{}, a)
	a, err = Spec{Kind: KindMic, Index: -1}.Audio(o)
	require.NoError(t, err)
	require.Equal(t, -1, a.(*Microphone).Index)
	_, err = Spec{Kind: KindCamera, Index: 0}.Audio(o)
	require.ErrorIs(t, err, ErrBadSpec)

	// A media file: the video source, and "file" as its audio.
	v, err = Spec{Kind: KindFile, Index: -1, Path: "clip.mp4", Once: true}.Video(o)
	require.NoError(t, err)
	file := v.(*File)
	require.Equal(t, &File{Path: "clip.mp4", Once: true, Width: 320, Height: 240, Clock: clock, Logger: quietLog}, file)
	_, err = Spec{Kind: KindFile, Index: -1}.Video(o)
	require.ErrorIs(t, err, ErrBadSpec)
	_, err = Spec{Kind: KindFile, Index: -1}.Audio(o)
	require.ErrorIs(t, err, ErrBadSpec, "audio \"file\" without a file source")
	_, err = Spec{Kind: KindFile, Index: -1, Path: "x.wav"}.Audio(Options{File: file})
	require.ErrorIs(t, err, ErrBadSpec)
	fa, err := Spec{Kind: KindFile, Index: -1}.Audio(Options{File: file})
	require.NoError(t, err)
	require.Same(t, file.Audio(), fa)
	// The null-backend microphone from a spec really runs.
	require.NoError(t, a.Initialize())
	recvBlock(t, a.Samples())
	a.Close()
}

func FuzzParse(f *testing.F) {
	for _, c := range specCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := Parse(in)
		if err != nil {
			require.ErrorIs(t, err, ErrBadSpec)
			return
		}
		require.Contains(t, []Kind{KindTest, KindCamera, KindMic, KindNone, KindScreen, KindWindow, KindFile}, s.Kind)
		require.True(t, s.Index >= -1 && s.Index <= 999)
		again, err := Parse(s.String())
		require.NoError(t, err)
		require.Equal(t, s, again)
	})
}
