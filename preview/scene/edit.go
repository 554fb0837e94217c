package scene

import (
	"image"
	"strconv"
)

// The edits below return a changed copy of the scene (the original is
// left alone); an unknown ID leaves it unchanged. They are what the app's
// Scene tab does; SetScene (or Source.SetScene) applies the result.

// Add returns s with l on top and l's ID: its own, or a new unique one
// ("<type><n>") when it has none or its own is taken.
func (s Scene) Add(l Layer) (Scene, string) {
	c := s.Clone()
	taken := map[string]bool{}
	for i := range c.Layers {
		taken[c.LayerID(i)] = true
	}
	if l.ID == "" || taken[l.ID] {
		for n := len(c.Layers) + 1; ; n++ {
			if id := l.Type + strconv.Itoa(n); !taken[id] {
				l.ID = id
				break
			}
		}
	}
	// Give every layer its ID for good, so positions can change safely.
	for i := range c.Layers {
		c.Layers[i].ID = c.LayerID(i)
	}
	c.Layers = append(c.Layers, l)
	return c, l.ID
}

// Remove returns s without the layer id.
func (s Scene) Remove(id string) Scene {
	c := s.fixIDs()
	if i := c.Index(id); i >= 0 {
		c.Layers = append(c.Layers[:i], c.Layers[i+1:]...)
	}
	return c
}

// Move returns s with layer id moved delta places up (towards the top,
// drawn later) or down (negative), within the list.
func (s Scene) Move(id string, delta int) Scene {
	c := s.fixIDs()
	i := c.Index(id)
	if i < 0 {
		return c
	}
	j := min(max(i+delta, 0), len(c.Layers)-1)
	l := c.Layers[i]
	c.Layers = append(c.Layers[:i], c.Layers[i+1:]...)
	c.Layers = append(c.Layers[:j], append([]Layer{l}, c.Layers[j:]...)...)
	return c
}

// SetHidden returns s with layer id hidden or shown.
func (s Scene) SetHidden(id string, hidden bool) Scene {
	return s.edit(id, func(l *Layer) { l.Hidden = hidden })
}

// SetCorner returns s with layer id placed at a corner preset (its X and
// Y dropped).
func (s Scene) SetCorner(id, corner string) Scene {
	return s.edit(id, func(l *Layer) { l.Corner, l.X, l.Y = corner, nil, nil })
}

// SetLayer returns s with layer id replaced by l (l keeps the ID).
func (s Scene) SetLayer(id string, l Layer) Scene {
	return s.edit(id, func(old *Layer) { l.ID = id; *old = l })
}

// MoveTo returns s with layer id's top-left corner at (x, y) pixels of
// p's picture, kept inside the picture, as fractions that survive a change
// of picture size. p must be s's plan (it knows each layer's size).
func (s Scene) MoveTo(id string, p *Plan, x, y int) Scene {
	var r image.Rectangle
	for _, l := range p.Layers {
		if l.ID == id {
			r = l.Rect
		}
	}
	x = min(max(x, 0), p.Width-r.Dx())
	y = min(max(y, 0), p.Height-r.Dy())
	fx := (float64(x) + 0.5) / float64(p.Width) // the middle of the pixel: no rounding down to the one before
	fy := (float64(y) + 0.5) / float64(p.Height)
	return s.edit(id, func(l *Layer) { l.X, l.Y = &fx, &fy })
}

// At returns the ID of the topmost visible layer covering pixel (x, y) of
// the plan's picture, or "" (chat layers have no area to grab).
func (p *Plan) At(x, y int) string {
	pt := image.Pt(x, y)
	for i := len(p.Layers) - 1; i >= 0; i-- {
		if l := p.Layers[i]; !l.Hidden && pt.In(l.Rect) {
			return l.ID
		}
	}
	return ""
}

// edit returns s with fn applied to layer id.
func (s Scene) edit(id string, fn func(*Layer)) Scene {
	c := s.fixIDs()
	if i := c.Index(id); i >= 0 {
		fn(&c.Layers[i])
	}
	return c
}

// fixIDs returns a copy of s whose layers all carry their ID.
func (s Scene) fixIDs() Scene {
	c := s.Clone()
	for i := range c.Layers {
		c.Layers[i].ID = c.LayerID(i)
	}
	return c
}
