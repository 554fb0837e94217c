package studio

import (
	"golive/media"
	"golive/preview"
	"golive/preview/scene"
)

// onFrame runs on the capture goroutine for every frame: it burns the chat
// in when asked (so the preview and the stream both show it) and offers
// the frame to the preview.
func (s *Studio) onFrame(f *media.VideoFrame) {
	s.overlay.Blend(f)
	if s.frameSizeChanged(f.Width, f.Height) {
		s.renderOverlay()
	}
	s.prev.Push(f)
}

func (s *Studio) frameSizeChanged(w, h int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.frameSize == [2]int{w, h} {
		return false
	}
	s.frameSize = [2]int{w, h}
	return true
}

// SetOverlay turns burning the chat into the preview and outgoing video
// on or off: it shows or hides the scene's chat layer, adding one when the
// scene has none.
func (s *Studio) SetOverlay(on bool) {
	sc := s.Scene()
	id := ""
	for i, l := range sc.Layers {
		if l.Type == scene.TypeChat {
			id = sc.LayerID(i)
		}
	}
	if id == "" {
		sc, id = sc.Add(scene.Layer{ID: chatLayerID, Type: scene.TypeChat, Corner: scene.BottomLeft})
	}
	if err := s.SetScene(sc.SetHidden(id, !on)); err != nil {
		s.log.Warn("chat overlay not changed", "err", err)
		s.setErr(err.Error())
	}
}

// renderOverlay redraws the chat layer; it runs only when the chat, the
// toggle or the frame size changes. Renders are serialized, so the last
// one always draws the latest state.
//
// The chat goes where the scene's chat layer is: onto the running scene's
// chat overlay when the engine composes a scene, else onto the studio's own,
// which onFrame burns in.
func (s *Studio) renderOverlay() {
	s.renderMu.Lock()
	defer s.renderMu.Unlock()
	s.mu.Lock()
	on, size := s.overlayOn, s.frameSize
	var lines []preview.ChatLine
	for _, m := range s.chatLog {
		lines = append(lines, preview.ChatLine{Name: m.User.Name, Text: m.Text})
	}
	layer := scene.Layer{Type: scene.TypeChat, Corner: scene.BottomLeft}
	for _, l := range s.scene.Layers {
		if l.Type == scene.TypeChat {
			layer = l
		}
	}
	s.mu.Unlock()
	target := &s.overlay
	if src := s.sceneSource(); src != nil {
		target = src.Chat()
		s.overlay.Clear()
	}
	if !on || size[0] == 0 {
		target.Clear()
		return
	}
	img, _, _ := preview.ChatLayer{}.Render(lines, size[0], size[1])
	if img == nil {
		target.Clear()
		return
	}
	x, y := scene.Place(layer, size[0], size[1], img.Bounds().Dx(), img.Bounds().Dy())
	target.Set(img, max(x, 0), max(y, 0))
}
