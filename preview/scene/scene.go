// Package scene composes the picture that is encoded and previewed: one
// main video source with layers drawn over it — a camera picture-in-picture,
// a PNG image with alpha, a text lower third and the chat overlay — once
// per frame, in the encoder's pixel format (YUV420P).
//
// A Scene is the description (a JSON file for `golive stream --scene`, the
// Scene tab's model in the app); Source is the capture.VideoSource that
// opens what the scene names and hands out composed frames; Compositor
// draws prepared layers onto a frame.
package scene

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golive/capture"
)

// ErrBadScene is returned by Parse, ReadFile, Scene.Check and the
// Compositor for a scene that cannot be used: malformed JSON, an unknown
// field, a missing image, a layer off the picture. Its message names the
// layer.
var ErrBadScene = errors.New("bad scene")

// The layer types.
const (
	// TypeCamera is a picture-in-picture of another video source.
	TypeCamera = "camera"
	// TypeImage is a PNG (or JPEG) image, with its alpha.
	TypeImage = "image"
	// TypeText is a lower third: a name and an optional second line.
	TypeText = "text"
	// TypeChat is the app's chat overlay (golive stream has no chat and
	// draws nothing for it).
	TypeChat = "chat"
)

// The corner presets a layer is placed by.
const (
	TopLeft     = "top-left"
	TopRight    = "top-right"
	BottomLeft  = "bottom-left"
	BottomRight = "bottom-right"
	Center      = "center"
)

// Corners lists the corner presets, for pickers.
func Corners() []string { return []string{TopLeft, TopRight, BottomLeft, BottomRight, Center} }

// Limits of a scene.
const (
	// MaxLayers is the most layers a scene may have.
	MaxLayers = 16
	// MaxText is the longest text or subtitle, in characters.
	MaxText = 120
	// MaxBorder is the thickest picture-in-picture border, in pixels.
	MaxBorder = 64
	// MaxImagePixels is the largest image accepted (width × height).
	MaxImagePixels = 64 << 20
)

// Scene is a main source and the layers drawn over it, bottom first.
type Scene struct {
	// Source is the main video source ("test", "camera:N", "screen:N",
	// "window:TITLE", "file:PATH"); empty: the one given elsewhere
	// (--source, the app's picker).
	Source string `json:"source,omitempty"`
	// Layers are drawn in order, the first at the bottom.
	Layers []Layer `json:"layers"`
	// Dir is where relative image paths are found (the scene file's
	// folder); not part of the JSON.
	Dir string `json:"-"`
}

// Layer is one thing drawn over the main source. Which fields apply
// depends on Type; the zero value of each takes the default documented on it.
type Layer struct {
	// ID names the layer for live changes; default "<type><position>"
	// (e.g. "image2"); unique within a scene.
	ID string `json:"id,omitempty"`
	// Type is TypeCamera, TypeImage, TypeText or TypeChat.
	Type string `json:"type"`
	// Hidden layers are kept (and their sources stay open) but not drawn.
	Hidden bool `json:"hidden,omitempty"`
	// Corner places the layer: top-left, top-right, bottom-left,
	// bottom-right or center, with a margin of 3 % of the picture's height.
	// Defaults: camera bottom-right, image top-right, text bottom-left,
	// chat top-left.
	Corner string `json:"corner,omitempty"`
	// X and Y, when given, place the layer's top-left corner at these
	// fractions (0..1) of the picture's width and height instead of a
	// corner; give both or neither.
	X *float64 `json:"x,omitempty"`
	Y *float64 `json:"y,omitempty"`
	// Size is the layer's width as a fraction of the picture's width
	// (camera: default 0.25; image: default its own pixel width, scaled
	// down to fit); for text it is the text's height as a fraction of the
	// picture's height (default 0.05).
	Size float64 `json:"size,omitempty"`

	// Source is a camera layer's video source spec (default "camera").
	Source string `json:"source,omitempty"`
	// Border is a camera layer's frame thickness in pixels (default 0).
	Border int `json:"border,omitempty"`
	// BorderColor is the frame's colour, "#RRGGBB" (default white).
	BorderColor string `json:"border_color,omitempty"`

	// Path is an image layer's file (PNG or JPEG), relative to the scene
	// file's folder unless absolute.
	Path string `json:"path,omitempty"`
	// Opacity scales an image layer's alpha, 0..1 (default, and 0: 1 —
	// hide a layer with Hidden).
	Opacity float64 `json:"opacity,omitempty"`

	// Text is a text layer's first line (required); Subtitle an optional
	// smaller second line.
	Text     string `json:"text,omitempty"`
	Subtitle string `json:"subtitle,omitempty"`
	// Color is the text's colour, "#RRGGBB" (default white); Background
	// the box behind it, "#RRGGBBAA" or "#RRGGBB" (default #141414C0).
	Color      string `json:"color,omitempty"`
	Background string `json:"background,omitempty"`
}

// fields lists, per type, the JSON fields a layer of that type may carry.
var fields = map[string][]string{
	TypeCamera: {"source", "border", "border_color"},
	TypeImage:  {"path", "opacity"},
	TypeText:   {"text", "subtitle", "color", "background"},
	TypeChat:   {},
}

// common lists the fields every layer may carry.
var common = []string{"id", "type", "hidden", "corner", "x", "y", "size"}

// Parse reads a scene from JSON. Unknown fields, fields that do not belong
// to the layer's type, and values out of range are refused with
// ErrBadScene and a message naming the layer. Images are not opened (see
// Check and the Compositor).
func Parse(data []byte) (Scene, error) {
	var raw struct {
		Source *string           `json:"source"`
		Layers []json.RawMessage `json:"layers"`
	}
	if err := strictDecode(data, &raw); err != nil {
		return Scene{}, fmt.Errorf("%w: %s", ErrBadScene, jsonMessage(err))
	}
	var s Scene
	if raw.Source != nil {
		s.Source = *raw.Source
	}
	if len(raw.Layers) > MaxLayers {
		return Scene{}, fmt.Errorf("%w: %d layers (at most %d)", ErrBadScene, len(raw.Layers), MaxLayers)
	}
	for i, r := range raw.Layers {
		var l Layer
		if err := strictDecode(r, &l); err != nil {
			return Scene{}, fmt.Errorf("%w: layer %d: %s", ErrBadScene, i+1, jsonMessage(err))
		}
		var keys map[string]json.RawMessage
		_ = json.Unmarshal(r, &keys) // it decoded above, so it is an object
		allowed, ok := fields[l.Type]
		if !ok {
			return Scene{}, fmt.Errorf("%w: layer %d: type %q (want camera, image, text or chat)", ErrBadScene, i+1, l.Type)
		}
		for k := range keys {
			if !contains(common, k) && !contains(allowed, k) {
				return Scene{}, fmt.Errorf("%w: layer %d (%s): field %q does not apply to a %s layer", ErrBadScene, i+1, l.Type, k, l.Type)
			}
		}
		s.Layers = append(s.Layers, l)
	}
	if err := s.Validate(); err != nil {
		return Scene{}, err
	}
	return s, nil
}

// ReadFile reads and parses a scene file; relative image paths are taken
// from the file's folder.
func ReadFile(path string) (Scene, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Scene{}, fmt.Errorf("%w: %w", ErrBadScene, err)
	}
	s, err := Parse(data)
	if err != nil {
		return Scene{}, err
	}
	s.Dir = filepath.Dir(path)
	return s, nil
}

// strictDecode decodes one JSON value into v, refusing unknown fields and
// trailing data.
func strictDecode(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the JSON object")
	}
	return nil
}

// jsonMessage turns encoding/json's errors into a short message.
func jsonMessage(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("not JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("field %q: want a %s, not a JSON %s", typ.Field, typ.Type, typ.Value)
		}
		return fmt.Sprintf("want a %s, not a JSON %s", typ.Type, typ.Value)
	case errors.Is(err, io.EOF):
		return "empty"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "not JSON: it ends too early"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Validate checks what can be checked without a picture size or files:
// types, IDs, corners, ranges, colours, texts and source specs.
func (s Scene) Validate() error {
	if s.Source != "" {
		if err := checkVideoSpec(s.Source); err != nil {
			return fmt.Errorf("%w: source: %w", ErrBadScene, err)
		}
	}
	if len(s.Layers) > MaxLayers {
		return fmt.Errorf("%w: %d layers (at most %d)", ErrBadScene, len(s.Layers), MaxLayers)
	}
	ids := map[string]bool{}
	for i, l := range s.Layers {
		id := s.LayerID(i)
		if ids[id] {
			return fmt.Errorf("%w: layer %d: id %q used twice", ErrBadScene, i+1, id)
		}
		ids[id] = true
		if err := l.validate(); err != nil {
			return fmt.Errorf("%w: layer %d (%s): %w", ErrBadScene, i+1, l.Type, err)
		}
	}
	return nil
}

// LayerID returns layer i's ID: its own, or "<type><i+1>".
func (s Scene) LayerID(i int) string {
	if s.Layers[i].ID != "" {
		return s.Layers[i].ID
	}
	return s.Layers[i].Type + strconv.Itoa(i+1)
}

// Index returns the position of the layer with the given ID, or -1.
func (s Scene) Index(id string) int {
	for i := range s.Layers {
		if s.LayerID(i) == id {
			return i
		}
	}
	return -1
}

// Clone returns a deep copy of s (layers and their positions).
func (s Scene) Clone() Scene {
	c := s
	c.Layers = make([]Layer, len(s.Layers))
	for i, l := range s.Layers {
		if l.X != nil {
			x := *l.X
			l.X = &x
		}
		if l.Y != nil {
			y := *l.Y
			l.Y = &y
		}
		c.Layers[i] = l
	}
	return c
}

func (l Layer) validate() error {
	if _, ok := fields[l.Type]; !ok {
		return fmt.Errorf("type %q (want camera, image, text or chat)", l.Type)
	}
	if len(l.ID) > 64 || strings.ContainsFunc(l.ID, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return fmt.Errorf("id %q: want up to 64 printable characters without spaces", l.ID)
	}
	if l.Corner != "" && !contains(Corners(), l.Corner) {
		return fmt.Errorf("corner %q (want %s)", l.Corner, strings.Join(Corners(), ", "))
	}
	if (l.X == nil) != (l.Y == nil) {
		return errors.New("give both x and y, or neither")
	}
	if l.X != nil && !(*l.X >= 0 && *l.X <= 1 && *l.Y >= 0 && *l.Y <= 1) {
		return fmt.Errorf("x %g, y %g: off the picture (want 0..1)", *l.X, *l.Y)
	}
	if !(l.Size >= 0 && l.Size <= 1) {
		return fmt.Errorf("size %g (want 0..1, a fraction of the picture)", l.Size)
	}
	if l.Type == TypeText && l.Size > 0.5 {
		return fmt.Errorf("size %g: text taller than half the picture", l.Size)
	}
	switch l.Type {
	case TypeCamera:
		if l.Source != "" {
			if err := checkVideoSpec(l.Source); err != nil {
				return err
			}
		}
		if l.Border < 0 || l.Border > MaxBorder {
			return fmt.Errorf("border %d (want 0..%d pixels)", l.Border, MaxBorder)
		}
		if _, err := parseColor(l.BorderColor, color.NRGBA{255, 255, 255, 255}); err != nil {
			return fmt.Errorf("border_color: %w", err)
		}
	case TypeImage:
		if strings.TrimSpace(l.Path) == "" {
			return errors.New("no path")
		}
		if !(l.Opacity >= 0 && l.Opacity <= 1) {
			return fmt.Errorf("opacity %g (want 0..1)", l.Opacity)
		}
	case TypeText:
		if strings.TrimSpace(l.Text) == "" {
			return errors.New("no text")
		}
		for _, t := range []string{l.Text, l.Subtitle} {
			if n := len([]rune(t)); n > MaxText {
				return fmt.Errorf("text of %d characters (at most %d)", n, MaxText)
			}
		}
		if _, err := parseColor(l.Color, color.NRGBA{}); err != nil {
			return fmt.Errorf("color: %w", err)
		}
		if _, err := parseColor(l.Background, color.NRGBA{}); err != nil {
			return fmt.Errorf("background: %w", err)
		}
	}
	return nil
}

// checkVideoSpec accepts the source specs that name a video source.
func checkVideoSpec(spec string) error {
	sp, err := capture.Parse(spec)
	if err != nil {
		return err
	}
	if sp.Kind == capture.KindMic || sp.Kind == capture.KindNone {
		return fmt.Errorf("source %q is not a video source", spec)
	}
	return nil
}

// parseColor reads "#RRGGBB" or "#RRGGBBAA"; "" gives def.
func parseColor(s string, def color.NRGBA) (color.NRGBA, error) {
	if s == "" {
		return def, nil
	}
	h := strings.TrimPrefix(s, "#")
	if len(h) != len(s)-1 || (len(h) != 6 && len(h) != 8) {
		return def, fmt.Errorf("%q: want #RRGGBB or #RRGGBBAA", s)
	}
	v, err := strconv.ParseUint(h, 16, 32)
	if err != nil {
		return def, fmt.Errorf("%q: want #RRGGBB or #RRGGBBAA", s)
	}
	if len(h) == 6 {
		v = v<<8 | 0xff
	}
	return color.NRGBA{uint8(v >> 24), uint8(v >> 16), uint8(v >> 8), uint8(v)}, nil
}
