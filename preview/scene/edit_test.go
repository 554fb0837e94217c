package scene

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func ids(s Scene) []string {
	var out []string
	for i := range s.Layers {
		out = append(out, s.LayerID(i))
	}
	return out
}

func TestEdits(t *testing.T) {
	var s Scene
	s, chat := s.Add(Layer{Type: TypeChat})
	s, text := s.Add(Layer{Type: TypeText, Text: "Jane"})
	s, pip := s.Add(Layer{Type: TypeCamera, Source: "camera:1"})
	s, dup := s.Add(Layer{Type: TypeText, ID: "text2", Text: "Again"})
	require.Equal(t, []string{"chat1", "text2", "camera3", "text4"}, []string{chat, text, pip, dup})
	require.NoError(t, s.Validate())

	moved := s.Move(pip, -1)
	require.Equal(t, []string{"chat1", "camera3", "text2", "text4"}, ids(moved))
	require.Equal(t, []string{"chat1", "text2", "camera3", "text4"}, ids(s), "edits leave the original alone")
	require.Equal(t, []string{"text2", "camera3", "text4", "chat1"}, ids(s.Move(chat, 10)), "clamped to the top")
	require.Equal(t, ids(s), ids(s.Move("nope", 1)))

	require.Equal(t, []string{"chat1", "camera3", "text4"}, ids(s.Remove(text)))
	require.True(t, s.SetHidden(pip, true).Layers[2].Hidden)
	c := s.SetCorner(text, TopRight)
	require.Equal(t, TopRight, c.Layers[1].Corner)
	l := c.Layers[1]
	l.Text = "Jane Doe"
	c = c.SetLayer(text, l)
	require.Equal(t, "Jane Doe", c.Layers[1].Text)
	require.Equal(t, text, c.Layers[1].ID)

	// Dragging: the layer follows the pointer, stays inside the picture,
	// and lands where it was put.
	p, err := Prepare(s, 1280, 720, nil)
	require.NoError(t, err)
	require.Equal(t, pip, p.At(p.Layers[2].Rect.Min.X+5, p.Layers[2].Rect.Min.Y+5))
	require.Equal(t, "", p.At(640, 10))
	d := s.MoveTo(pip, p, 100, 50)
	p2, err := Prepare(d, 1280, 720, nil)
	require.NoError(t, err)
	require.Equal(t, 100, p2.Layers[2].Rect.Min.X)
	require.Equal(t, 50, p2.Layers[2].Rect.Min.Y)
	d = s.MoveTo(pip, p, 5000, -40)
	p2, err = Prepare(d, 1280, 720, nil)
	require.NoError(t, err, "clamped inside")
	require.Equal(t, 1280, p2.Layers[2].Rect.Max.X)
	require.Equal(t, 0, p2.Layers[2].Rect.Min.Y)
	// The corner preset drops the dragged place.
	require.Nil(t, d.SetCorner(pip, BottomLeft).Layers[2].X)
	// Hidden layers are not grabbed.
	ph, err := Prepare(s.SetHidden(pip, true), 1280, 720, nil)
	require.NoError(t, err)
	require.Equal(t, "", ph.At(p.Layers[2].Rect.Min.X+5, p.Layers[2].Rect.Min.Y+5))
}
