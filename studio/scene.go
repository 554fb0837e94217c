package studio

import (
	"encoding/json"
	"fmt"

	"golive/media"
	"golive/preview/scene"
)

// chatLayerID is the ID of the chat layer the studio adds for the chat
// toggle.
const chatLayerID = "chat"

// defaultScene is a new install's scene: the chat, shown or not.
func defaultScene(chatOn bool) scene.Scene {
	return scene.Scene{Layers: []scene.Layer{{ID: chatLayerID, Type: scene.TypeChat, Corner: scene.BottomLeft, Hidden: !chatOn}}}
}

// loadScene reads the stored scene; called from load.
func (s *Studio) loadScene() {
	s.scene = defaultScene(s.overlayOn)
	v := s.get(storeScene)
	if v == "" {
		return
	}
	sc, err := scene.Parse([]byte(v))
	if err != nil {
		s.log.Warn("stored scene unusable; starting with none", "err", err)
		return
	}
	sc.Source = "" // the main source is Settings.Source
	s.scene = sc
	s.overlayOn = chatShown(sc)
}

// chatShown reports whether sc shows the chat.
func chatShown(sc scene.Scene) bool {
	for _, l := range sc.Layers {
		if l.Type == scene.TypeChat && !l.Hidden {
			return true
		}
	}
	return false
}

// Scene returns the scene drawn over the main source (its Source is empty:
// the main source is Settings().Source, see SetSource).
func (s *Studio) Scene() scene.Scene {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.scene.Clone()
}

// SetScene checks sc on the picture (images read, every layer inside it),
// applies it to the running pipeline at once — live or not — and keeps it.
// A scene that cannot be used changes nothing and says why.
func (s *Studio) SetScene(sc scene.Scene) error {
	sc = sc.Clone()
	sc.Source = ""
	if err := sc.Validate(); err != nil {
		return err
	}
	if src := s.sceneSource(); src != nil {
		live := sc.Clone()
		live.Source = s.Settings().Source
		if err := src.SetScene(live); err != nil {
			return err
		}
	} else {
		cfg := s.config()
		if _, err := scene.Prepare(sc, cfg.Width, cfg.Height, &s.images); err != nil {
			return err
		}
	}
	data, err := json.Marshal(sc)
	if err != nil {
		return fmt.Errorf("%w: scene: %w", media.ErrBadOption, err)
	}
	s.mu.Lock()
	s.scene = sc
	s.overlayOn = chatShown(sc)
	s.set(storeScene, string(data))
	s.set(storeOverlay, fmt.Sprint(s.overlayOn))
	s.mu.Unlock()
	s.renderOverlay()
	s.changed()
	return nil
}

// ScenePlan returns where each layer of the scene is on the picture (for
// grabbing and dragging layers on the preview); nil when it cannot be
// placed.
func (s *Studio) ScenePlan() *scene.Plan {
	if src := s.sceneSource(); src != nil {
		return src.Plan()
	}
	cfg := s.config()
	p, err := scene.Prepare(s.Scene(), cfg.Width, cfg.Height, &s.images)
	if err != nil {
		return nil
	}
	return p
}
