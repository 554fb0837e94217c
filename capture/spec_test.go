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
	{"test", Spec{KindTest, -1}, false},
	{" TEST ", Spec{KindTest, -1}, false},
	{"camera", Spec{KindCamera, -1}, false},
	{"camera:0", Spec{KindCamera, 0}, false},
	{"camera:12", Spec{KindCamera, 12}, false},
	{"mic", Spec{KindMic, -1}, false},
	{"mic:1", Spec{KindMic, 1}, false},
	{"none", Spec{KindNone, -1}, false},
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
	v, err := Spec{KindTest, -1}.Video(o)
	require.NoError(t, err)
	require.Equal(t, &TestPattern{Width: 320, Height: 240, FPS: 15, Clock: clock, Logger: quietLog}, v)
	v, err = Spec{KindCamera, 2}.Video(o)
	require.NoError(t, err)
	require.Equal(t, 2, v.(*Camera).Index)
	_, err = Spec{KindNone, -1}.Video(o)
	require.ErrorIs(t, err, ErrBadSpec)
	_, err = Spec{KindMic, 0}.Video(o)
	require.ErrorIs(t, err, ErrBadSpec)

	a, err := Spec{KindNone, -1}.Audio(o)
	require.NoError(t, err)
	require.Nil(t, a)
	a, err = Spec{KindTest, -1}.Audio(o)
	require.NoError(t, err)
	require.IsType(t, &Tone{}, a)
	a, err = Spec{KindMic, -1}.Audio(o)
	require.NoError(t, err)
	require.Equal(t, -1, a.(*Microphone).Index)
	_, err = Spec{KindCamera, 0}.Audio(o)
	require.ErrorIs(t, err, ErrBadSpec)
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
		require.Contains(t, []Kind{KindTest, KindCamera, KindMic, KindNone}, s.Kind)
		require.True(t, s.Index >= -1 && s.Index <= 999)
		again, err := Parse(s.String())
		require.NoError(t, err)
		require.Equal(t, s, again)
	})
}
