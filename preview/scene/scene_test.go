package scene

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// parseCases drives TestParse and seeds FuzzParse. err is a piece of the
// one-line message, "" for a scene that parses.
var parseCases = []struct {
	name, in, err string
}{
	{"empty scene", `{"layers":[]}`, ""},
	{"full", `{"source":"screen:0","layers":[
		{"type":"camera","source":"camera:0","corner":"bottom-right","size":0.25,"border":4,"border_color":"#ffffff"},
		{"type":"image","path":"logo.png","corner":"top-right","size":0.1,"opacity":0.8},
		{"type":"text","text":"Jane Doe","subtitle":"Building GoLive","corner":"bottom-left","color":"#ffffff","background":"#202020c0"},
		{"type":"chat","id":"chat","hidden":true,"x":0.02,"y":0.1}]}`, ""},
	{"window source", `{"source":"window:My Editor?cursor=0","layers":[]}`, ""},
	{"not json", `{"layers":[`, "not JSON"},
	{"empty", ``, "empty"},
	{"trailing", `{"layers":[]} {}`, "data after"},
	{"unknown top field", `{"layers":[],"background":"red"}`, `unknown field "background"`},
	{"unknown layer field", `{"layers":[{"type":"text","text":"a","colour":"#fff"}]}`, `layer 1: unknown field "colour"`},
	{"field of another type", `{"layers":[{"type":"chat","path":"x.png"}]}`, `field "path" does not apply to a chat layer`},
	{"bad type", `{"layers":[{"type":"video"}]}`, `type "video"`},
	{"no type", `{"layers":[{}]}`, `type ""`},
	{"wrong json type", `{"layers":[{"type":"camera","size":"big"}]}`, `field "size"`},
	{"bad corner", `{"layers":[{"type":"chat","corner":"middle"}]}`, `corner "middle"`},
	{"x without y", `{"layers":[{"type":"chat","x":0.5}]}`, "both x and y"},
	{"x off the picture", `{"layers":[{"type":"chat","x":1.5,"y":0}]}`, "off the picture"},
	{"negative y", `{"layers":[{"type":"chat","x":0,"y":-0.1}]}`, "off the picture"},
	{"size too big", `{"layers":[{"type":"camera","size":2}]}`, "size 2"},
	{"text too tall", `{"layers":[{"type":"text","text":"a","size":0.9}]}`, "taller than half"},
	{"bad camera source", `{"layers":[{"type":"camera","source":"mic"}]}`, "not a video source"},
	{"bad main source", `{"source":"webcam","layers":[]}`, `source: capture: bad source spec: "webcam"`},
	{"border too thick", `{"layers":[{"type":"camera","border":100}]}`, "border 100"},
	{"bad colour", `{"layers":[{"type":"camera","border_color":"white"}]}`, "border_color"},
	{"image without path", `{"layers":[{"type":"image"}]}`, "no path"},
	{"opacity", `{"layers":[{"type":"image","path":"a.png","opacity":3}]}`, "opacity 3"},
	{"no text", `{"layers":[{"type":"text","text":"  "}]}`, "no text"},
	{"long text", `{"layers":[{"type":"text","text":"` + strings.Repeat("a", 121) + `"}]}`, "121 characters"},
	{"duplicate id", `{"layers":[{"type":"chat","id":"a"},{"type":"text","id":"a","text":"x"}]}`, `id "a" used twice`},
	{"default id clash", `{"layers":[{"type":"chat","id":"text2"},{"type":"text","text":"x"}]}`, `id "text2" used twice`},
	{"bad id", `{"layers":[{"type":"chat","id":"a b"}]}`, `id "a b"`},
	{"too many", `{"layers":[` + strings.TrimSuffix(strings.Repeat(`{"type":"chat"},`, 17), ",") + `]}`, "17 layers"},
	{"null layers", `{"layers":null}`, ""},
	{"array", `[]`, "want a"},
}

func TestParse(t *testing.T) {
	for _, c := range parseCases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Parse([]byte(c.in))
			if c.err != "" {
				require.ErrorIs(t, err, ErrBadScene)
				require.Contains(t, err.Error(), c.err)
				require.NotContains(t, err.Error(), "\n", "one line")
				return
			}
			require.NoError(t, err)
			// What Parse gives back encodes to JSON that parses the same.
			data, err := json.Marshal(s)
			require.NoError(t, err)
			again, err := Parse(data)
			require.NoError(t, err)
			require.Equal(t, s, again)
		})
	}
}

func TestParseFull(t *testing.T) {
	s, err := Parse([]byte(parseCases[1].in))
	require.NoError(t, err)
	require.Equal(t, "screen:0", s.Source)
	require.Len(t, s.Layers, 4)
	require.Equal(t, []string{"camera1", "image2", "text3", "chat"}, []string{s.LayerID(0), s.LayerID(1), s.LayerID(2), s.LayerID(3)})
	require.Equal(t, 2, s.Index("text3"))
	require.Equal(t, -1, s.Index("nope"))
	require.Equal(t, 0.02, *s.Layers[3].X)
	c := s.Clone()
	*c.Layers[3].X = 0.5
	require.Equal(t, 0.02, *s.Layers[3].X, "Clone copies positions")
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "scene.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"layers":[{"type":"image","path":"logo.png"}]}`), 0o600))
	s, err := ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, dir, s.Dir)
	_, err = ReadFile(filepath.Join(dir, "missing.json"))
	require.ErrorIs(t, err, ErrBadScene)
	require.ErrorIs(t, err, os.ErrNotExist)
}

func FuzzParse(f *testing.F) {
	for _, c := range parseCases {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			require.ErrorIs(t, err, ErrBadScene)
			require.NotContains(t, err.Error(), "\n")
			return
		}
		require.NoError(t, s.Validate())
		out, err := json.Marshal(s)
		require.NoError(t, err)
		again, err := Parse(out)
		require.NoError(t, err)
		require.Equal(t, s, again)
		// A scene that parses prepares or fails cleanly, never panics.
		_, err = Prepare(s, 320, 180, nil)
		if err != nil {
			require.ErrorIs(t, err, ErrBadScene)
		}
	})
}
