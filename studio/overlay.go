package studio

import (
	"fmt"

	"golive/media"
	"golive/preview"
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
// on or off.
func (s *Studio) SetOverlay(on bool) {
	s.mu.Lock()
	s.overlayOn = on
	s.set(storeOverlay, fmt.Sprint(on))
	s.mu.Unlock()
	s.renderOverlay()
	s.changed()
}

// renderOverlay redraws the chat layer; it runs only when the chat, the
// toggle or the frame size changes. Renders are serialized, so the last
// one always draws the latest state.
func (s *Studio) renderOverlay() {
	s.renderMu.Lock()
	defer s.renderMu.Unlock()
	s.mu.Lock()
	on, size := s.overlayOn, s.frameSize
	var lines []preview.ChatLine
	for _, m := range s.chatLog {
		lines = append(lines, preview.ChatLine{Name: m.User.Name, Text: m.Text})
	}
	s.mu.Unlock()
	if !on || size[0] == 0 {
		s.overlay.Clear()
		return
	}
	img, x, y := preview.ChatLayer{}.Render(lines, size[0], size[1])
	s.overlay.Set(img, x, y)
}
